import { constants } from 'node:os';
import { SystemError } from './errors.js';
import { libc } from './libc.js';
import { requirePosix } from './platform.js';

export type FlockMode = 'exclusive' | 'shared' | 'unlock';

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
// Node's errno table is the running platform's own (EWOULDBLOCK is 11 on Linux, 35 on macOS).
const { EINTR, EWOULDBLOCK } = constants.errno;

const operations: Record<FlockMode, number> = { exclusive: LOCK_EX, shared: LOCK_SH, unlock: LOCK_UN };

/**
 * Takes, converts or drops a BSD `flock` lock on an open file without ever blocking (LOCK_NB).
 * Returns true when the lock is now held (or dropped), false when another open file description holds
 * a conflicting lock. The lock belongs to the open file description: it survives fork and exec of an
 * inherited fd and is dropped when the last fd referring to it is closed. Throws EBADF, EINVAL, ENOLCK.
 */
export function flock(fd: number, mode: FlockMode): boolean {
  requirePosix('flock');
  const operation = operations[mode] as number | undefined;
  if (operation === undefined) throw new TypeError(`flock mode must be 'exclusive', 'shared' or 'unlock', got ${JSON.stringify(mode)}`);
  for (;;) {
    if (libc().flock(fd, operation | LOCK_NB) === 0) return true;
    const errno = libc().errno();
    if (errno === EWOULDBLOCK) return false;
    if (errno !== EINTR) throw new SystemError(errno, 'flock');
  }
}
