export {
  ProcessGroup,
  spawnGroup,
  type Containment,
  type GroupExit,
  type ProcessGroupEvents,
  type SpawnGroupOptions,
  type TerminateOptions,
} from './group.js';
export { killTree } from './kill-tree.js';
export { cgroupUnavailable } from './cgroup.js';
export { ProcGroupError, type ProcGroupErrorCode } from './errors.js';
