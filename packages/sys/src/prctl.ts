import { check } from './call.js';
import { libc } from './libc.js';
import { requireLinux } from './platform.js';
import { signalName, signalNumber, type SignalLike } from './signals.js';

const PR_SET_PDEATHSIG = 1;
const PR_GET_PDEATHSIG = 2;
const PR_SET_CHILD_SUBREAPER = 36;
const PR_GET_CHILD_SUBREAPER = 37;

/**
 * Asks the kernel to send `signal` to this process when its parent *thread* exits (PR_SET_PDEATHSIG);
 * 0 or null clears it. Linux only. The setting is cleared by fork and by exec of a set-user-ID program,
 * and it fires on the death of the thread that forked us, not of the whole parent process.
 */
export function setParentDeathSignal(signal: SignalLike | null): void {
  requireLinux('PR_SET_PDEATHSIG');
  const number = signal === null ? 0 : signalNumber(signal);
  check('prctl', () => libc().prctlSet(PR_SET_PDEATHSIG, number));
}

/** The signal armed with setParentDeathSignal, or null when none is. Linux only. */
export function getParentDeathSignal(): NodeJS.Signals | null {
  requireLinux('PR_GET_PDEATHSIG');
  const out = new Int32Array(1);
  check('prctl', () => libc().prctlGet(PR_GET_PDEATHSIG, out));
  const number = out[0] ?? 0;
  return number === 0 ? null : (signalName(number) ?? null);
}

/**
 * Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER): orphaned descendants are reparented to
 * it instead of to PID 1, and it must reap them. Linux only.
 */
export function setChildSubreaper(enabled: boolean): void {
  requireLinux('PR_SET_CHILD_SUBREAPER');
  check('prctl', () => libc().prctlSet(PR_SET_CHILD_SUBREAPER, enabled ? 1 : 0));
}

/** Whether this process is a child subreaper. Linux only. */
export function isChildSubreaper(): boolean {
  requireLinux('PR_GET_CHILD_SUBREAPER');
  const out = new Int32Array(1);
  check('prctl', () => libc().prctlGet(PR_GET_CHILD_SUBREAPER, out));
  return out[0] !== 0;
}
