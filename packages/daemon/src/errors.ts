import { XError } from '@x/sys';

export type DaemonErrorCode =
  | 'ERR_DAEMON_RUNNING'
  | 'ERR_DAEMON_LOG'
  | 'ERR_DAEMON_BAD_OPTION'
  | 'ERR_DAEMON_STAGE'
  | 'ERR_DAEMON_EXEC'
  /** daemonize() would fork where it cannot (Windows), or capture output without pipe2() (macOS). */
  | 'ERR_X_UNSUPPORTED_PLATFORM';

/** Every error of @x/daemon: a stable `code`, and the underlying error as `cause` where there is one. */
export class DaemonError extends XError<DaemonErrorCode> {
  /** With ERR_DAEMON_RUNNING: the pid of the instance that is running. */
  readonly pid: number | undefined;
  constructor(code: DaemonErrorCode, message: string, options?: ErrorOptions & { pid?: number }) {
    super(code, message, options);
    this.pid = options?.pid;
  }
}
// Not enumerable, as Node's own errors: the name stays out of util.inspect's own-property list.
Object.defineProperty(DaemonError.prototype, 'name', { value: 'DaemonError', configurable: true });

/** The message of anything thrown, for a one-line report. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
