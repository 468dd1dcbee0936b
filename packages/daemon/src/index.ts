export { daemonize, type Daemon, type DaemonizeOptions } from './daemonize.js';
export { stage, type Stage } from './stage.js';
export { notify } from './notify.js';
export { DaemonError, type DaemonErrorCode } from './errors.js';
