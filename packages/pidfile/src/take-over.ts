import { closeSync, constants, fstatSync, lstatSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { debuglog } from 'node:util';
import { flock } from '@x/sys';
import { openError, PidFileError } from './errors.js';
import { closeQuietly, readHead, stillNamed } from './file.js';
import { createFresh, discard, placeNew, sweepTemporaries, type Fresh } from './create.js';
import { pidIn, writeContent } from './held.js';
import { viewLock } from './locks.js';
import { liveOwner } from './owner.js';

const debug = debuglog('x:pidfile');
const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_CLOEXEC = 0 } = constants as typeof constants & { O_CLOEXEC?: number };

/**
 * Holding it; held by someone (`settled` when the file names a live owner, otherwise perhaps a process
 * in the middle of taking over a stale file); or the file changed under us and it is worth another look.
 */
export type Attempt = { fd: number } | { owner: number | undefined; settled: boolean } | { retry: string };

/** Who holds the lock on `fd`: the pid in the file when it owns the file, else the lock's taker. */
function lockedBy(fd: number): Attempt {
  const owner = pidIn(fd);
  const stats = fstatSync(fd);
  const lock = viewLock(fd, stats, owner);
  if (owner !== undefined && (lock.byNamed || liveOwner(owner, stats.mtimeMs))) return { owner, settled: true };
  return { owner: lock.taker ?? owner, settled: false };
}

export function tryFlock(path: string, pid: number, mode: number, sync: boolean): Attempt {
  let fresh: Fresh | undefined;
  try {
    fresh = createFresh(path, pid, mode, sync);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A directory we may not write in, but a file we may: lock the file where it is.
    if (code === 'EACCES' || code === 'EPERM') return inPlace(path, pid, undefined, sync);
    throw error instanceof PidFileError ? error : openError(path, error);
  }
  if (fresh === undefined) return { retry: 'our new file was taken by a sweeper' };
  // The stale file we lock to take it over; always closed before returning, whatever happens.
  let existing: number | undefined;
  try {
    if (placeNew(fresh, path)) return { fd: fresh.fd };
    // Something is at the path. Replace it only while holding its lock, which proves its owner is gone.
    existing = openExisting(path);
    if (existing === undefined) {
      discard(fresh);
      return { retry: 'the file vanished' };
    }
    if (!flock(existing, 'exclusive')) {
      discard(fresh);
      return lockedBy(existing);
    }
    if (!stillNamed(path, existing)) {
      discard(fresh);
      return { retry: 'the file was replaced' };
    }
    debug('taking over stale %s (it said %s)', path, readHead(existing).trim() || 'nothing');
    renameSync(fresh.temporary as string, path);
    fresh.temporary = undefined;
    sweepTemporaries(path);
    return { fd: fresh.fd };
  } catch (error) {
    discard(fresh);
    // Let go of the stale file's lock before anything else tries to take it (inPlace below does).
    closeQuietly(existing);
    existing = undefined;
    const code = (error as NodeJS.ErrnoException).code;
    // Our temporary was swept away by a process cleaning up after a crash: start afresh.
    if (code === 'ENOENT') return { retry: 'the temporary file was removed' };
    // No hard links or renames over the file here (some file systems; a sticky directory where the
    // stale file is someone else's): lock the file in place instead.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return inPlace(path, pid, mode, sync);
    throw error instanceof PidFileError ? error : openError(path, error);
  } finally {
    closeQuietly(existing);
  }
}

/**
 * Opens what is at `path` for locking (creating it with `createMode` when given); undefined when it
 * vanished meanwhile, so the caller looks again.
 */
function openExisting(path: string, createMode?: number): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (createMode === undefined ? 0 : O_CREAT), createMode ?? 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && createMode === undefined) return undefined;
    throw openError(path, error);
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new PidFileError('ERR_PIDFILE_NOT_A_FILE', path, `${path} is not a regular file; remove it or choose another path`);
  }
  return fd;
}

/**
 * Fallback for a directory we cannot create files in (then the file must exist already) or a file
 * system without hard links (then it is created here): lock the file in place and rewrite it.
 */
function inPlace(path: string, pid: number, createMode: number | undefined, sync: boolean): Attempt {
  const fd = openExisting(path, createMode);
  if (fd === undefined) throw openError(path, Object.assign(new Error('cannot create a file in its directory'), { code: 'EACCES' }));
  let held = false;
  try {
    if (!flock(fd, 'exclusive')) return lockedBy(fd);
    if (!stillNamed(path, fd)) return { retry: 'the file was replaced' };
    writeContent(path, fd, pid, true, sync);
    held = true;
    return { fd };
  } finally {
    if (!held) closeQuietly(fd);
  }
}

/** O_EXCL creation for platforms without flock; a stale file is judged by its pid and start time. */
export function tryCreate(path: string, pid: number, mode: number, sync: boolean): Attempt {
  let fd: number;
  try {
    fd = openSync(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw openError(path, error);
    const existing = openExisting(path);
    if (existing === undefined) return { retry: 'the file vanished' };
    try {
      const owner = pidIn(existing);
      const mtime = fstatSync(existing).mtimeMs;
      if (owner !== undefined && liveOwner(owner, mtime)) return { owner, settled: true };
      // Stale: move it aside under a unique name, and put it back if it turned out to be someone's new file.
      const aside = `${path}.${process.pid}.stale`;
      renameSync(path, aside);
      if (lstatSync(aside).ino !== fstatSync(existing).ino) renameSync(aside, path);
      else unlinkSync(aside);
      return { retry: 'removed a stale file' };
    } finally {
      closeSync(existing);
    }
  }
  try {
    writeContent(path, fd, pid, false, sync);
  } catch (error) {
    closeSync(fd);
    unlinkSync(path);
    throw error;
  }
  return { fd };
}
