import { isValidPid } from './content.js';

/** 'flock': the kernel's lock, which dies with its owner. 'create': O_EXCL creation plus pid and start-time checks. */
export type Locking = 'flock' | 'create';

export interface ReadOptions {
  /** How the file is locked (default 'flock'); 'create' files carry no lock, only their pid is checked. */
  locking?: Locking;
}

export interface AcquireOptions {
  /** The pid to write (default: this process). */
  pid?: number;
  /** Wait up to this many ms for a live owner to go away (default 0: fail at once with ERR_PIDFILE_LOCKED). */
  wait?: number;
  /** Cancels waiting; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Create missing parent directories (mode 0o755). Default false. */
  createDirectory?: boolean;
  /** File mode of a new PID file (default 0o644, minus the umask). */
  mode?: number;
  /** Remove the file when this process exits normally or by SIGINT/SIGTERM/SIGHUP (default true). */
  removeOnExit?: boolean;
  /**
   * 'flock' (default where @x/sys can call flock: Linux, macOS): the lock is the kernel's and dies with
   * its owner. 'create': O_EXCL creation plus pid and start-time checks, for platforms without flock.
   */
  locking?: Locking;
  /**
   * fsync the file before it appears at `path` (default false). Readers never see partial content either
   * way; this only matters for the bytes surviving a power loss, after which every PID file is stale.
   */
  sync?: boolean;
}

export interface AdoptOptions {
  /** The pid to write (default: this process). */
  pid?: number;
  /** Remove the file when this process exits (default true). */
  removeOnExit?: boolean;
}

export interface SignalOptions extends ReadOptions {
  /** After signalling, wait up to this many ms for the process to be gone (default 0: do not wait). */
  wait?: number;
  /** Allow signalling pid 1 (init) when a PID file names it. Default false. */
  allowPid1?: boolean;
}

export interface WaitOptions extends ReadOptions {
  /** Give up after this many ms (default: wait as long as it takes). */
  timeout?: number;
  /** Stops waiting; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

// Every default of @x/pidfile, in one place; the functions below are the only readers.
const DEFAULTS = {
  wait: 0,
  createDirectory: false,
  mode: 0o644,
  removeOnExit: true,
  sync: false,
  allowPid1: false,
  timeout: Number.POSITIVE_INFINITY,
  // Readers look for a lock unless told the file has none.
  readLocking: 'flock' as Locking,
};

/** The pid a file names by default: this process, as it is when the call is made (a fork has its own). */
const ownPid = () => process.pid;

/** Writers use flock wherever @x/sys can call it. */
const writeLocking = (): Locking => (process.platform === 'linux' || process.platform === 'darwin' ? 'flock' : 'create');

/** Options given as undefined mean "the default", as missing ones do. */
function defined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function checkPid(pid: number): void {
  if (!isValidPid(pid)) throw new RangeError(`pid must be a positive integer no larger than pid_max, got ${pid}`);
}

function checkWait(wait: number): void {
  if (!Number.isFinite(wait) || wait < 0) throw new RangeError(`wait must be a number of ms >= 0, got ${wait}`);
}

export function resolveAcquireOptions(path: string, options: AcquireOptions) {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw new TypeError('acquire(path) needs a non-empty file path without NUL bytes');
  }
  const given = defined(options);
  const resolved = {
    pid: given.pid ?? ownPid(),
    wait: given.wait ?? DEFAULTS.wait,
    signal: given.signal,
    createDirectory: given.createDirectory ?? DEFAULTS.createDirectory,
    mode: given.mode ?? DEFAULTS.mode,
    removeOnExit: given.removeOnExit ?? DEFAULTS.removeOnExit,
    locking: given.locking ?? writeLocking(),
    sync: given.sync ?? DEFAULTS.sync,
  };
  checkPid(resolved.pid);
  checkWait(resolved.wait);
  return resolved;
}

export function resolveAdoptOptions(options: AdoptOptions) {
  const given = defined(options);
  const resolved = { pid: given.pid ?? ownPid(), removeOnExit: given.removeOnExit ?? DEFAULTS.removeOnExit };
  checkPid(resolved.pid);
  return resolved;
}

export function resolveReadOptions(options: ReadOptions) {
  return { locking: defined(options).locking ?? DEFAULTS.readLocking };
}

export function resolveSignalOptions(options: SignalOptions) {
  const given = defined(options);
  const resolved = { ...resolveReadOptions(options), wait: given.wait ?? DEFAULTS.wait, allowPid1: given.allowPid1 ?? DEFAULTS.allowPid1 };
  checkWait(resolved.wait);
  return resolved;
}

export function resolveWaitOptions(options: WaitOptions) {
  const given = defined(options);
  return { ...resolveReadOptions(options), timeout: given.timeout ?? DEFAULTS.timeout, signal: given.signal };
}
