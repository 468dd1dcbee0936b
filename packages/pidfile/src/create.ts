import { constants, fstatSync, linkSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { debuglog } from 'node:util';
import { flock, processState, renameNoReplace } from '@x/sys';
import { closeQuietly, stillNamed } from './file.js';
import { writeContent } from './held.js';

const debug = debuglog('x:pidfile');
const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_CLOEXEC = 0 } = constants as typeof constants & { O_CLOEXEC?: number };

/** A new, complete, locked file not yet at `path`, under a temporary name until it is put in place. */
export interface Fresh {
  readonly fd: number;
  temporary: string | undefined;
}

const TEMPORARY_SUFFIX = '.tmp';
const temporaryPrefix = (path: string) => `.${basename(path)}.`;

export function temporaryName(path: string): string {
  return join(dirname(path), `${temporaryPrefix(path)}${process.pid}.${Math.random().toString(36).slice(2)}${TEMPORARY_SUFFIX}`);
}

/**
 * Creates the file that will become the PID file, lock taken and content written before it has its
 * real name, under a hidden temporary name beside the target. The file is later renamed (not linked)
 * into place, so the holder's fd names the PID file itself in /proc/PID/fd and lsof.
 */
export function createFresh(path: string, pid: number, mode: number, sync: boolean): Fresh | undefined {
  const temporary = temporaryName(path);
  const fresh: Fresh = { fd: openSync(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode), temporary };
  try {
    // Locked first. Should a sweeper have locked it in between (it only sweeps temporaries of dead
    // creators, so only if our pid was reused), let it have the file and look again.
    if (!flock(fresh.fd, 'exclusive')) {
      closeQuietly(fresh.fd);
      return undefined;
    }
    writeContent(path, fresh.fd, pid, false, sync);
  } catch (error) {
    discard(fresh);
    throw error;
  }
  return fresh;
}

/**
 * Removes temporaries of `path` left by creators that died before renaming them into place: those whose
 * creator (the pid in the name) is gone and whose lock is free. Run after taking over a stale file, the
 * sign that such a crash happened. A live creator's temporary is never touched, even before it is locked.
 */
export function sweepTemporaries(path: string): void {
  const prefix = temporaryPrefix(path);
  let names: string[];
  try {
    names = readdirSync(dirname(path)).filter((name) => name.startsWith(prefix) && name.endsWith(TEMPORARY_SUFFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const creator = Number(name.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(creator) || creator <= 0 || processState(creator) !== 'gone') continue;
    const temporary = join(dirname(path), name);
    let fd: number;
    try {
      fd = openSync(temporary, constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    } catch {
      continue;
    }
    try {
      if (fstatSync(fd).isFile() && flock(fd, 'exclusive') && stillNamed(temporary, fd)) {
        unlinkSync(temporary);
        debug('removed %s, left by a creator that died', temporary);
      }
    } catch (error) {
      debug('cannot remove %s: %s', temporary, (error as Error).message);
    } finally {
      closeQuietly(fd);
    }
  }
}

export function discard(fresh: Fresh): void {
  if (fresh.temporary !== undefined) {
    try {
      unlinkSync(fresh.temporary);
    } catch {
      // Already renamed into place or gone.
    }
  }
  closeQuietly(fresh.fd);
}

/** Gives the fresh file the name `path` unless something is there already (returns false then). */
export function placeNew(fresh: Fresh, path: string): boolean {
  const temporary = fresh.temporary as string;
  try {
    try {
      renameNoReplace(temporary, path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Not Linux, or a file system without RENAME_NOREPLACE: link and unlink do the same, but the
      // holder's fd then keeps the temporary's (deleted) name.
      if (code !== 'ERR_X_UNSUPPORTED_PLATFORM' && code !== 'EINVAL' && code !== 'ENOSYS') throw error;
      linkSync(temporary, path);
      unlinkSync(temporary);
    }
    fresh.temporary = undefined;
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}
