export { beParent, type BeParentOptions, type ParentInfo } from './parent.js';
export { monitor, type Monitor, type MonitorOptions, type OnParentDeath, type ParentDeathReason } from './monitor.js';
export { ParentDeathEnvError, ParentDeathOptionError } from './errors.js';
export { ADDR_VARIABLE, SESSION_VARIABLE } from './env.js';
