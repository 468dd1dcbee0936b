export { daemonize, type Daemon } from './daemonize.js';
export type { DaemonizeOptions } from './options.js';
export { stage, type Stage } from './stage.js';
export { notify } from './notify.js';
export { DaemonError, type DaemonErrorCode } from './errors.js';
