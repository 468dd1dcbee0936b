import type { Stats } from 'node:fs';
import { holdsFlock, listedFlocks, processState } from '@x/sys';

/** What can be learnt about the flock on an open PID file without touching the lock. */
export interface LockView {
  /** Whether somebody holds the lock; undefined where it cannot be seen (no /proc, no permission). */
  readonly locked: boolean | undefined;
  /** The pid named in the file holds the lock through one of its own fds: proof that it owns the file. */
  readonly byNamed: boolean;
  /** A live process that /proc/locks says took the lock, when it lists one. */
  readonly taker: number | undefined;
}

/**
 * Looks at the lock on the PID file open as `fd` (with `stats` from fstat), never taking it: a look
 * must never make a concurrent acquire fail. The first witness is the pid named in the file: its own
 * fdinfo shows the lock whatever PID namespace, file system or wall clock we are in. /proc/locks comes
 * second, for locks held by someone else; inside a PID namespace it omits a lock handed down from a
 * process that has exited, so its silence proves nothing on its own.
 */
export function viewLock(fd: number, stats: Stats, named: number | undefined): LockView {
  // Without /proc nobody's locks can be seen; the pid and its start time decide alone.
  if (process.platform !== 'linux') return { locked: undefined, byNamed: false, taker: undefined };
  const byNamed = named === undefined ? undefined : holdsFlock(named, stats);
  if (byNamed === true) return { locked: true, byNamed: true, taker: undefined };
  const listed = listedFlocks(fd, stats);
  const taker = listed?.find((entry) => entry.pid > 0 && processState(entry.pid) !== 'gone')?.pid;
  if (listed !== undefined && listed.length > 0) return { locked: true, byNamed: false, taker };
  // Unlocked, as far as anyone can see: the named process holds nothing (or does not exist, or the file
  // names nobody), and /proc/locks lists no lock. Only a process we cannot read leaves it open.
  const unreadable = byNamed === undefined && named !== undefined && processState(named) !== 'gone';
  return { locked: listed === undefined || unreadable ? undefined : false, byNamed: false, taker: undefined };
}
