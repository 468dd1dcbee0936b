export type DaemonErrorCode = 'ERR_DAEMON_RUNNING' | 'ERR_DAEMON_LOG' | 'ERR_DAEMON_FAILED' | 'ERR_DAEMON_BAD_OPTION' | 'ERR_DAEMON_STAGE';

/** Every error of @x/daemon: a stable `code`, and the underlying error as `cause` where there is one. */
export class DaemonError extends Error {
  override name = 'DaemonError';
  readonly code: DaemonErrorCode;
  /** With ERR_DAEMON_RUNNING: the pid of the instance that is running. */
  readonly pid: number | undefined;
  constructor(code: DaemonErrorCode, message: string, options?: ErrorOptions & { pid?: number }) {
    super(message, options);
    this.code = code;
    this.pid = options?.pid;
  }
}
