export type ProcGroupErrorCode = 'ERR_PROCGROUP_NO_CGROUP' | 'ERR_PROCGROUP_UNSAFE_PID' | 'ERR_PROCGROUP_BAD_OPTION';

/** Every error of @x/procgroup: a stable `code`, and the underlying error as `cause` where there is one. */
export class ProcGroupError extends Error {
  override name = 'ProcGroupError';
  readonly code: ProcGroupErrorCode;
  constructor(code: ProcGroupErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
