import { fstatSync } from 'node:fs';
import { parsePidFile } from './content.js';
import { PidFileError } from './errors.js';
import { closeQuietly, openForReading, readHead } from './file.js';
import { viewLock, type LockView } from './locks.js';
import { identify } from './owner.js';
import { resolveReadOptions, type Locking, type ReadOptions } from './options.js';

export type StaleReason = 'unlocked' | 'gone' | 'zombie' | 'reused' | 'invalid';

export type PidFileStatus =
  | { readonly status: 'absent'; readonly path: string }
  | {
      readonly status: 'running';
      readonly path: string;
      readonly pid: number;
      /** Whether the file's flock is held (undefined where that cannot be seen, without /proc/locks). */
      readonly locked: boolean | undefined;
    }
  | {
      readonly status: 'stale';
      readonly path: string;
      /** The pid in the file, when it holds a valid one. */
      readonly pid: number | undefined;
      readonly reason: StaleReason;
      /** A sentence on why. */
      readonly detail: string;
      readonly locked: boolean | undefined;
    };

export type { ReadOptions } from './options.js';

/**
 * Tells whether the PID file at `path` belongs to a running process, without disturbing a concurrent
 * acquire: it never locks the file.
 *
 * - `absent`: no file.
 * - `running`: the pid in the file holds the file's lock through its own open file (seen in its
 *   /proc/PID/fdinfo, so inside PID namespaces and on any file system alike), or — where that cannot be
 *   seen — it is alive and started before the file was written.
 * - `stale`, with `reason`: `unlocked` (nobody holds the lock, whatever the file says), `gone` (no such
 *   process), `zombie`, `reused` (a process that started after the file was written has that pid now), or
 *   `invalid` (the content is not a pid).
 *
 * Throws ERR_PIDFILE_SYMLINK for a symlink and ERR_PIDFILE_NOT_A_FILE for anything but a regular file.
 */
export function read(path: string, options: ReadOptions = {}): PidFileStatus {
  const { locking } = resolveReadOptions(options);
  let fd: number;
  try {
    fd = openForReading(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { status: 'absent', path };
    if (code === 'ELOOP') throw new PidFileError('ERR_PIDFILE_SYMLINK', path, `${path} is a symbolic link; PID files are never read through links`, { cause: error });
    if (code === 'EACCES' || code === 'EPERM') throw new PidFileError('ERR_PIDFILE_ACCESS', path, `no permission to read ${path}`, { cause: error });
    throw new PidFileError('ERR_PIDFILE_NOT_A_FILE', path, `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    if (!fstatSync(fd).isFile()) throw new PidFileError('ERR_PIDFILE_NOT_A_FILE', path, `${path} is not a regular file`);
    let status = judge(path, fd, locking);
    // An owner may be rewriting the file (update() during a hand-over) while we look: a stale verdict
    // on content that has changed since is no verdict. Look again; a few rounds settle it.
    for (let round = 0; round < 3 && status.status === 'stale' && contentChanged(fd, status); round++) status = judge(path, fd, locking);
    return status;
  } finally {
    closeQuietly(fd);
  }
}

function contentChanged(fd: number, status: PidFileStatus & { status: 'stale' }): boolean {
  const parsed = parsePidFile(readHead(fd));
  return ('pid' in parsed ? parsed.pid : undefined) !== status.pid;
}

function judge(path: string, fd: number, locking: Locking): PidFileStatus {
  const parsed = parsePidFile(readHead(fd));
  // After the content, so that the time of the last write is never older than the pid we read.
  const stats = fstatSync(fd);
  const named = 'pid' in parsed ? parsed.pid : undefined;
  const lock: LockView = locking === 'flock' ? viewLock(fd, stats, named) : { locked: undefined, byNamed: false, taker: undefined };
  const { locked } = lock;
  if (named === undefined) {
    // A locked file with unreadable content is held; its holder is who /proc/locks says took the lock.
    if (locked === true && lock.taker !== undefined) return { status: 'running', path, pid: lock.taker, locked };
    return { status: 'stale', path, pid: undefined, reason: 'invalid', detail: `${path}: ${'invalid' in parsed ? parsed.invalid : ''}`, locked };
  }
  // Holding the lock through its own open file proves ownership; no clock is consulted.
  if (lock.byNamed) return { status: 'running', path, pid: named, locked };
  if (locked === false) {
    return { status: 'stale', path, pid: named, reason: 'unlocked', detail: `nobody holds the lock on ${path}, so pid ${named} no longer owns it`, locked };
  }
  const identity = identify(named, stats.mtimeMs);
  if (!identity.alive) return { status: 'stale', path, pid: named, reason: identity.reason, detail: identity.detail, locked };
  return { status: 'running', path, pid: named, locked };
}
