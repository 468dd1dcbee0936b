import { fstatSync, fsyncSync, ftruncateSync, unlinkSync, writeSync } from 'node:fs';
import { debuglog } from 'node:util';
import { formatPid, isValidPid, parsePidFile } from './content.js';
import { PidFileError } from './errors.js';
import { releaseOnExit, type ExitRegistration } from './exit.js';
import { closeQuietly, names, readHead } from './file.js';

const debug = debuglog('x:pidfile');

import type { Locking } from './options.js';

export type { Locking };

/** A held PID file. */
export interface PidFile extends AsyncDisposable, Disposable {
  readonly path: string;
  /** The pid written in the file. */
  readonly pid: number;
  /** The open, locked file: pass it to a child (e.g. a daemon) and the lock goes with it. */
  readonly fd: number;
  readonly locking: Locking;
  /** Whether release() has run. */
  readonly released: boolean;
  /** Writes another pid (e.g. the daemon's, after a hand-over), in place and durably. */
  update(pid: number): void;
  /** Removes the file (if it is still ours), then drops the lock. Idempotent. */
  release(): void;
}

/**
 * Writes the whole content at offset 0 and, for a file that had content before (`rewrite`), trims what
 * is left of it; `sync` flushes it to disk.
 */
export function writeContent(path: string, fd: number, pid: number, rewrite: boolean, sync: boolean): void {
  const content = Buffer.from(formatPid(pid));
  try {
    const written = writeSync(fd, content, 0, content.length, 0);
    // A short write of a dozen bytes only happens on a full disk; say so rather than leave a fragment.
    if (written !== content.length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
    if (rewrite) ftruncateSync(fd, content.length);
    if (sync) fsyncSync(fd);
  } catch (error) {
    throw new PidFileError('ERR_PIDFILE_WRITE', path, `cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** The pid in the file open as `fd`, if its content is a valid one. */
export function pidIn(fd: number): number | undefined {
  const parsed = parsePidFile(readHead(fd));
  return 'pid' in parsed ? parsed.pid : undefined;
}

/** Wraps a locked fd as a PidFile, closing it if even that fails, so that no lock is left behind. */
export function hold(path: string, pid: number, fd: number, locking: Locking, removeOnExit: boolean, sync: boolean): PidFile {
  try {
    return new Held(path, pid, fd, locking, removeOnExit, sync);
  } catch (error) {
    closeQuietly(fd);
    throw error;
  }
}

export class Held implements PidFile {
  released = false;
  private readonly exit: ExitRegistration | undefined;
  private readonly identity: { dev: number; ino: number };

  constructor(
    readonly path: string,
    public pid: number,
    readonly fd: number,
    readonly locking: Locking,
    removeOnExit: boolean,
    private readonly sync: boolean,
  ) {
    const { dev, ino } = fstatSync(fd);
    this.identity = { dev, ino };
    this.exit = removeOnExit ? releaseOnExit(this) : undefined;
    debug('acquired %s for pid %d (%s)', path, pid, locking);
  }

  update(pid: number): void {
    if (this.released) throw new PidFileError('ERR_PIDFILE_RELEASED', this.path, `${this.path} was released; acquire it again`);
    if (!isValidPid(pid)) throw new RangeError(`pid must be a positive integer no larger than pid_max, got ${pid}`);
    writeContent(this.path, this.fd, pid, true, this.sync);
    this.pid = pid;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.exit?.cancel();
    // Unlink before unlocking: whoever gets the lock next finds the name gone and starts afresh.
    try {
      if (names(this.path, this.identity)) unlinkSync(this.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A directory we may not write in (the file was locked in place there): the file stays, but
      // without its lock it is stale, and the next acquire takes it over. That is the release.
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') {
        closeQuietly(this.fd);
        throw new PidFileError('ERR_PIDFILE_WRITE', this.path, `released the lock on ${this.path} but cannot remove it: ${(error as Error).message}`, { cause: error });
      }
      debug('released %s; cannot remove it (%s), left unlocked and so stale', this.path, code);
    }
    closeQuietly(this.fd);
    debug('released %s', this.path);
  }

  [Symbol.dispose](): void {
    this.release();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.release();
    return Promise.resolve();
  }
}
