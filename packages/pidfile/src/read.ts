import { fstatSync } from 'node:fs';
import { parsePidFile } from './content.js';
import { PidFileError } from './errors.js';
import { closeQuietly, openForReading, readHead } from './file.js';
import { flockHolders } from './locks.js';
import { identify } from './owner.js';
import type { Locking } from './acquire.js';

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

export interface ReadOptions {
  /** How the file is locked (default 'flock'); 'create' files carry no lock, only their pid is checked. */
  locking?: Locking;
}

/**
 * Tells whether the PID file at `path` belongs to a running process, without disturbing a concurrent
 * acquire: it never locks the file, and learns about the lock from /proc/locks.
 *
 * - `absent`: no file.
 * - `running`: the lock is held and the pid in the file is alive and started before the file was written.
 * - `stale`, with `reason`: `unlocked` (nobody holds the lock, whatever the file says), `gone` (no such
 *   process), `zombie`, `reused` (a process that started after the file was written has that pid now), or
 *   `invalid` (the content is not a pid).
 *
 * Throws ERR_PIDFILE_SYMLINK for a symlink and ERR_PIDFILE_NOT_A_FILE for anything but a regular file.
 */
export function read(path: string, options: ReadOptions = {}): PidFileStatus {
  const locking = options.locking ?? 'flock';
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
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new PidFileError('ERR_PIDFILE_NOT_A_FILE', path, `${path} is not a regular file`);
    const holders = locking === 'flock' ? flockHolders(stats.dev, stats.ino) : undefined;
    const locked = holders === undefined ? undefined : holders.length > 0;
    const parsed = parsePidFile(readHead(fd));
    if ('invalid' in parsed) {
      // A locked file with unreadable content is held; its holder is who /proc/locks says took the lock.
      const holder = holders?.[0]?.pid;
      if (locked === true && holder !== undefined) return { status: 'running', path, pid: holder, locked };
      return { status: 'stale', path, pid: undefined, reason: 'invalid', detail: `${path}: ${parsed.invalid}`, locked };
    }
    const { pid } = parsed;
    if (locked === false) {
      return { status: 'stale', path, pid, reason: 'unlocked', detail: `nobody holds the lock on ${path}, so pid ${pid} no longer owns it`, locked };
    }
    const identity = identify(pid, stats.mtimeMs);
    if (!identity.alive) return { status: 'stale', path, pid, reason: identity.reason, detail: identity.detail, locked };
    return { status: 'running', path, pid, locked };
  } finally {
    closeQuietly(fd);
  }
}
