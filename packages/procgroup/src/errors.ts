import { XError } from '@x/sys';

export type ProcGroupErrorCode =
  | 'ERR_PROCGROUP_NO_CGROUP'
  | 'ERR_PROCGROUP_CGROUP_UNREADABLE'
  | 'ERR_PROCGROUP_UNSAFE_PID'
  | 'ERR_PROCGROUP_BAD_OPTION'
  | 'ERR_PROCGROUP_WATCHDOG';

/** Every error of @x/procgroup: a stable `code`, and the underlying error as `cause` where there is one. */
export class ProcGroupError extends XError<ProcGroupErrorCode> {}
Object.defineProperty(ProcGroupError.prototype, 'name', { value: 'ProcGroupError', configurable: true });
