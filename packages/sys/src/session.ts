import { check } from './call.js';
import { libc } from './libc.js';
import { requirePosix } from './platform.js';

/**
 * Starts a new session and process group led by this process and detaches it from its controlling
 * terminal. Returns the new session id (our pid). Throws EPERM when we already lead a process group.
 */
export function setsid(): number {
  requirePosix('setsid');
  return check('setsid', () => libc().setsid());
}

/** The process group id of `pid` (default: ours). Throws ESRCH when no such process exists. */
export function getpgid(pid = 0): number {
  requirePosix('getpgid');
  return check('getpgid', () => libc().getpgid(pid));
}

/** The session id of `pid` (default: ours). Throws ESRCH when no such process exists. */
export function getsid(pid = 0): number {
  requirePosix('getsid');
  return check('getsid', () => libc().getsid(pid));
}

/** Our parent's pid, asked of the kernel now (process.ppid is a cached read on some Node versions). */
export function getppid(): number {
  requirePosix('getppid');
  return libc().getppid();
}
