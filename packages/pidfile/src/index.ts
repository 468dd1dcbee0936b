export { acquire, type AcquireOptions, type Locking, type PidFile } from './acquire.js';
export { adopt, type AdoptOptions } from './adopt.js';
export { read, type PidFileStatus, type ReadOptions, type StaleReason } from './read.js';
export { signal, waitForExit, PidFileNotRunningError, type SignalOptions, type SignalResult, type WaitOptions } from './signal.js';
export { defaultPath } from './location.js';
export { formatPid, parsePidFile, type ParsedContent } from './content.js';
export { PidFileError, PidFileLockedError, type PidFileErrorCode } from './errors.js';
