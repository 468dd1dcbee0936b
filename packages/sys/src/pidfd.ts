import { check } from './call.js';
import { libc } from './libc.js';
import { requireLinux } from './platform.js';
import { signalNumber, type SignalLike } from './signals.js';

/**
 * Opens a pidfd (Linux >= 5.3): a file descriptor that names one process for as long as it is open, so
 * signals sent through it can never reach a later process that reuses the pid. The fd is close-on-exec
 * and becomes readable when the process exits. Close it with fs.closeSync or close(). Throws ESRCH when
 * no such process exists, ENOSYS on older kernels.
 */
export function pidfdOpen(pid: number): number {
  requireLinux('pidfd_open');
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`pidfdOpen needs a positive pid, got ${pid}`);
  return check('pidfd_open', () => libc().pidfdOpen(pid, 0));
}

/** Sends a signal through a pidfd. Throws ESRCH when that process has exited (even if its pid was reused). */
export function pidfdSendSignal(pidfd: number, signal: SignalLike = 'SIGTERM'): void {
  requireLinux('pidfd_send_signal');
  const number = signalNumber(signal);
  check('pidfd_send_signal', () => libc().pidfdSendSignal(pidfd, number));
}
