import { close, pidfdOpen, pidfdSendSignal, processState, signalName, signalNumber, type SignalLike } from '@x/sys';
import { PidFileError } from './errors.js';
import { poll } from './poll.js';
import { resolveSignalOptions, resolveWaitOptions, type SignalOptions, type WaitOptions } from './options.js';
import { read, type PidFileStatus } from './read.js';

export type { SignalOptions, WaitOptions } from './options.js';

export interface SignalResult {
  readonly pid: number;
  readonly signal: NodeJS.Signals | 0;
  /** With `wait`: whether the process was gone before the deadline. */
  readonly exited: boolean;
}

/** The PID file names no running owner; `status` says what it found instead. */
export class PidFileNotRunningError extends PidFileError {
  readonly status: PidFileStatus;
  constructor(status: PidFileStatus) {
    super(
      'ERR_PIDFILE_NOT_RUNNING',
      status.path,
      status.status === 'absent'
        ? `${status.path} does not exist: nothing to signal`
        : `refusing to signal: ${status.status === 'stale' ? status.detail : 'not running'}`,
    );
    this.status = status;
  }
}
Object.defineProperty(PidFileNotRunningError.prototype, 'name', { value: 'PidFileNotRunningError', configurable: true });

function checkPid(path: string, pid: number, allowPid1: boolean): void {
  if (pid === process.pid) {
    throw new PidFileError('ERR_PIDFILE_UNSAFE_PID', path, `${path} names this very process (pid ${pid}); refusing to signal ourselves`);
  }
  if (pid === 1 && !allowPid1) {
    throw new PidFileError('ERR_PIDFILE_UNSAFE_PID', path, `${path} names pid 1 (init); pass { allowPid1: true } if that is really meant`);
  }
  if (pid <= 0) throw new PidFileError('ERR_PIDFILE_UNSAFE_PID', path, `${path} names pid ${pid}, which would signal a group`);
}

const running = (status: PidFileStatus): status is Extract<PidFileStatus, { status: 'running' }> => status.status === 'running';

/**
 * Sends `signal` (default SIGTERM) to the process that owns the PID file at `path`, after confirming it
 * does: the lock is held and the pid in the file started before the file was written. On Linux the
 * signal goes through a pidfd opened and re-checked before sending, so it cannot reach a process that
 * took over the pid meanwhile. Never signals pid 0, a group, or this process; pid 1 only with
 * `allowPid1`. Throws PidFileNotRunningError (`ERR_PIDFILE_NOT_RUNNING`) when nobody owns the file.
 */
export async function signal(path: string, sig: SignalLike = 'SIGTERM', options: SignalOptions = {}): Promise<SignalResult> {
  const { wait, allowPid1, locking } = resolveSignalOptions(options);
  const number = signalNumber(sig);
  const status = read(path, { locking });
  if (!running(status)) throw new PidFileNotRunningError(status);
  const { pid } = status;
  checkPid(path, pid, allowPid1);
  const result = (exited: boolean): SignalResult => ({ pid, signal: number === 0 ? 0 : (signalName(number) ?? 0), exited });

  if (process.platform !== 'linux') {
    process.kill(pid, number);
    return result(wait > 0 ? await poll(() => isGone(pid), wait) : false);
  }
  let pidfd: number;
  try {
    pidfd = pidfdOpen(pid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') throw new PidFileNotRunningError(read(path, options));
    throw error;
  }
  try {
    // The pidfd pins one process; confirm it is still the owner the file describes.
    const again = read(path, options);
    if (!running(again) || again.pid !== pid) throw new PidFileNotRunningError(again);
    pidfdSendSignal(pidfd, number);
    if (wait === 0) return result(false);
    return result(await poll(() => pidfdGone(pidfd, pid), wait));
  } finally {
    close(pidfd);
  }
}

/** Gone, or a zombie waiting for its parent: either way it no longer runs. */
const isGone = (pid: number): boolean => ['gone', 'zombie'].includes(processState(pid));

function pidfdGone(pidfd: number, pid: number): boolean {
  try {
    pidfdSendSignal(pidfd, 0);
  } catch {
    return true;
  }
  // Still there through the pidfd: the pid is ours, so /proc tells whether it is only a zombie.
  return processState(pid) === 'zombie';
}

/**
 * Resolves true once the PID file no longer names a running process (absent or stale), or false at the
 * timeout. Polls without ever taking the lock.
 */
export function waitForExit(path: string, options: WaitOptions = {}): Promise<boolean> {
  const { timeout, signal: abort, locking } = resolveWaitOptions(options);
  return poll(() => read(path, { locking }).status !== 'running', timeout, abort);
}
