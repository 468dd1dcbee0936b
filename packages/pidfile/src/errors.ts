import { XError } from '@x/sys';

/** Codes of every error @x/pidfile throws. */
export type PidFileErrorCode =
  | 'ERR_PIDFILE_LOCKED'
  | 'ERR_PIDFILE_SYMLINK'
  | 'ERR_PIDFILE_NOT_A_FILE'
  | 'ERR_PIDFILE_NO_DIRECTORY'
  | 'ERR_PIDFILE_ACCESS'
  | 'ERR_PIDFILE_WRITE'
  | 'ERR_PIDFILE_RELEASED'
  | 'ERR_PIDFILE_NOT_RUNNING'
  | 'ERR_PIDFILE_UNSAFE_PID'
  | 'ERR_PIDFILE_BAD_NAME';

/** Every error of @x/pidfile: a stable `code`, the `path` concerned, and the system error as `cause`. */
export class PidFileError extends XError<PidFileErrorCode> {
  readonly path: string;
  constructor(code: PidFileErrorCode, path: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.path = path;
  }
}
Object.defineProperty(PidFileError.prototype, 'name', { value: 'PidFileError', configurable: true });

/** The PID file is locked by a live process: `pid` (undefined when its content is unreadable). */
export class PidFileLockedError extends PidFileError {
  readonly pid: number | undefined;
  constructor(path: string, pid: number | undefined) {
    super(
      'ERR_PIDFILE_LOCKED',
      path,
      `${path} is locked by ${pid === undefined ? 'another process' : `pid ${pid}`}; stop it first, or pass { wait: ms } to wait for it`,
    );
    this.pid = pid;
  }
}
Object.defineProperty(PidFileLockedError.prototype, 'name', { value: 'PidFileLockedError', configurable: true });

/** Translates a failed open/create into a typed error that says what to do. */
export function openError(path: string, error: unknown): PidFileError {
  const code = (error as NodeJS.ErrnoException).code;
  const options = { cause: error };
  switch (code) {
    case 'ELOOP':
      return new PidFileError('ERR_PIDFILE_SYMLINK', path, `${path} is a symbolic link; PID files are never followed through links — remove it or choose another path`, options);
    case 'EISDIR':
      return new PidFileError('ERR_PIDFILE_NOT_A_FILE', path, `${path} is a directory; pass the path of a file inside it`, options);
    case 'ENXIO':
      // What open() says of a unix socket (and of a FIFO nobody reads).
      return new PidFileError('ERR_PIDFILE_NOT_A_FILE', path, `${path} is a socket or FIFO, not a file; remove it or choose another path`, options);
    case 'ENOENT':
    case 'ENOTDIR':
      return new PidFileError('ERR_PIDFILE_NO_DIRECTORY', path, `the directory of ${path} does not exist; create it or pass { createDirectory: true }`, options);
    case 'EACCES':
    case 'EPERM':
      return new PidFileError('ERR_PIDFILE_ACCESS', path, `no permission to create or lock ${path}; run as a user who may write there, or use defaultPath(name)`, options);
    case 'EROFS':
      return new PidFileError('ERR_PIDFILE_ACCESS', path, `${path} is on a read-only file system; choose a path under /run or $XDG_RUNTIME_DIR`, options);
    default:
      return new PidFileError('ERR_PIDFILE_WRITE', path, `cannot create ${path}: ${(error as Error).message}`, options);
  }
}
