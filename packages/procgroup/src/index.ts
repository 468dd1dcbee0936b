export { ProcessGroup, spawnGroup, type GroupExit, type ProcessGroupEvents } from './group.js';
export type { Containment, SpawnGroupOptions, TerminateOptions } from './options.js';
export { killTree } from './kill-tree.js';
export { cgroupUnavailable } from './cgroup.js';
export { ProcGroupError, type ProcGroupErrorCode } from './errors.js';
