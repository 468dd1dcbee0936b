import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { debuglog } from 'node:util';
import { flock, renameNoReplace } from '@x/sys';
import { formatPid, isValidPid, parsePidFile } from './content.js';
import { openError, PidFileError, PidFileLockedError } from './errors.js';
import { closeQuietly, names, readHead, stillNamed } from './file.js';
import { releaseOnExit, type ExitRegistration } from './exit.js';
import { viewLock } from './locks.js';
import { liveOwner } from './owner.js';

const debug = debuglog('x:pidfile');
const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_CLOEXEC = 0 } = constants as typeof constants & { O_CLOEXEC?: number };

export type Locking = 'flock' | 'create';

export interface AcquireOptions {
  /** The pid to write (default: this process). */
  pid?: number;
  /** Wait up to this many ms for a live owner to go away (default 0: fail at once with ERR_PIDFILE_LOCKED). */
  wait?: number;
  /** Cancels waiting; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Create missing parent directories (mode 0o755). Default false. */
  createDirectory?: boolean;
  /** File mode of a new PID file (default 0o644, minus the umask). */
  mode?: number;
  /** Remove the file when this process exits normally or by SIGINT/SIGTERM/SIGHUP (default true). */
  removeOnExit?: boolean;
  /**
   * 'flock' (default where @x/sys can call flock: Linux, macOS): the lock is the kernel's and dies with
   * its owner. 'create': O_EXCL creation plus pid and start-time checks, for platforms without flock.
   */
  locking?: Locking;
  /**
   * fsync the file before it appears at `path` (default false). Readers never see partial content either
   * way; this only matters for the bytes surviving a power loss, after which every PID file is stale.
   */
  sync?: boolean;
}

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

const defaultLocking = (): Locking => (process.platform === 'linux' || process.platform === 'darwin' ? 'flock' : 'create');

/**
 * Takes the PID file at `path`: creates it (never through a symlink) holding `"<pid>\n"`, and keeps an
 * exclusive flock on it for as long as this process lives. A file left by a dead owner never blocks:
 * without a lock it is free, whatever it says. If a live process holds the lock, rejects with
 * PidFileLockedError (`ERR_PIDFILE_LOCKED`, with that `pid`), or waits up to `wait` ms for it.
 *
 * The content appears whole: a new file is written and locked under a temporary name, then linked into
 * place (or renamed over a stale one), so a reader never sees a half-written PID file.
 */
export async function acquire(path: string, options: AcquireOptions = {}): Promise<PidFile> {
  const { pid = process.pid, wait = 0, signal, createDirectory = false, mode = 0o644, removeOnExit = true, sync = false } = options;
  const locking = options.locking ?? defaultLocking();
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw new TypeError('acquire(path) needs a non-empty file path without NUL bytes');
  }
  if (!isValidPid(pid)) throw new RangeError(`pid must be a positive integer no larger than pid_max, got ${pid}`);
  if (!Number.isFinite(wait) || wait < 0) throw new RangeError(`wait must be a number of ms >= 0, got ${wait}`);
  signal?.throwIfAborted();
  if (createDirectory) mkdirSync(dirname(path), { recursive: true, mode: 0o755 });

  const deadline = performance.now() + wait;
  let races = 0;
  let unsettled = 0;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const attempt = locking === 'flock' ? tryFlock(path, pid, mode, sync) : tryCreate(path, pid, mode, sync);
    if ('fd' in attempt) return hold(path, pid, attempt.fd, locking, removeOnExit, sync);
    if ('retry' in attempt) {
      // Lost a race with another process replacing or removing the file; the next look settles it.
      if (++races > 1000) throw new PidFileError('ERR_PIDFILE_WRITE', path, `${path} keeps changing under us (${attempt.retry}); is something else rewriting it?`);
      debug('%s: %s; looking again', path, attempt.retry);
      continue;
    }
    // Locked, but the file still names a dead owner: most likely a winner is replacing it this very
    // moment. Look again shortly, so that losers learn the winner's pid rather than the dead one's.
    if (!attempt.settled && ++unsettled <= 20) {
      await sleep(1, signal);
      continue;
    }
    if (performance.now() + delay > deadline) throw new PidFileLockedError(path, attempt.owner);
    debug('%s is held by %s; retrying in %d ms', path, attempt.owner ?? 'someone', delay);
    await sleep(delay, signal);
  }
}

/**
 * Holding it; held by someone (`settled` when the file names a live owner, otherwise perhaps a process
 * in the middle of taking over a stale file); or the file changed under us and it is worth another look.
 */
type Attempt = { fd: number } | { owner: number | undefined; settled: boolean } | { retry: string };

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Writes the whole content at offset 0 and, for a file that had content before (`rewrite`), trims what
 * is left of it; `sync` flushes it to disk.
 */
function writeContent(path: string, fd: number, pid: number, rewrite: boolean, sync: boolean): void {
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
function pidIn(fd: number): number | undefined {
  const parsed = parsePidFile(readHead(fd));
  return 'pid' in parsed ? parsed.pid : undefined;
}

/** Who holds the lock on `fd`: the pid in the file when it owns the file, else the lock's taker. */
function lockedBy(fd: number): Attempt {
  const owner = pidIn(fd);
  const stats = fstatSync(fd);
  const lock = viewLock(fd, stats, owner);
  if (owner !== undefined && (lock.byNamed || liveOwner(owner, stats.mtimeMs))) return { owner, settled: true };
  return { owner: lock.taker ?? owner, settled: false };
}

/** A new, complete, locked file not yet at `path`, under a temporary name until it is put in place. */
interface Fresh {
  readonly fd: number;
  temporary: string | undefined;
}

const TEMPORARY_SUFFIX = '.tmp';
const temporaryPrefix = (path: string) => `.${basename(path)}.`;

function temporaryName(path: string): string {
  return join(dirname(path), `${temporaryPrefix(path)}${process.pid}.${Math.random().toString(36).slice(2)}${TEMPORARY_SUFFIX}`);
}

/**
 * Creates the file that will become the PID file, lock taken and content written before it has its
 * real name, under a hidden temporary name beside the target. The file is later renamed (not linked)
 * into place, so the holder's fd names the PID file itself in /proc/PID/fd and lsof.
 */
function createFresh(path: string, pid: number, mode: number, sync: boolean): Fresh {
  const temporary = temporaryName(path);
  const fresh: Fresh = { fd: openSync(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode), temporary };
  try {
    // Locked first: an unlocked temporary is one whose creator died, which sweepTemporaries() removes.
    if (!flock(fresh.fd, 'exclusive')) throw new Error('a brand-new file was already locked');
    writeContent(path, fresh.fd, pid, false, sync);
  } catch (error) {
    discard(fresh);
    throw error;
  }
  return fresh;
}

/**
 * Removes temporaries of `path` left by creators that died before renaming them into place: those
 * whose lock is free. Run after taking over a stale file, the sign that such a crash happened.
 */
function sweepTemporaries(path: string): void {
  const prefix = temporaryPrefix(path);
  let names: string[];
  try {
    names = readdirSync(dirname(path)).filter((name) => name.startsWith(prefix) && name.endsWith(TEMPORARY_SUFFIX));
  } catch {
    return;
  }
  for (const name of names) {
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

function discard(fresh: Fresh): void {
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
function placeNew(fresh: Fresh, path: string): boolean {
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

function tryFlock(path: string, pid: number, mode: number, sync: boolean): Attempt {
  let fresh: Fresh;
  try {
    fresh = createFresh(path, pid, mode, sync);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A directory we may not write in, but a file we may: lock the file where it is.
    if (code === 'EACCES' || code === 'EPERM') return inPlace(path, pid, undefined, sync);
    throw error instanceof PidFileError ? error : openError(path, error);
  }
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
function tryCreate(path: string, pid: number, mode: number, sync: boolean): Attempt {
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

/** Wraps a locked fd as a PidFile, closing it if even that fails, so that no lock is left behind. */
function hold(path: string, pid: number, fd: number, locking: Locking, removeOnExit: boolean, sync: boolean): PidFile {
  try {
    return new Held(path, pid, fd, locking, removeOnExit, sync);
  } catch (error) {
    closeQuietly(fd);
    throw error;
  }
}

class Held implements PidFile {
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

export interface AdoptOptions {
  /** The pid to write (default: this process). */
  pid?: number;
  /** Remove the file when this process exits (default true). */
  removeOnExit?: boolean;
}

/**
 * Takes over a PID file whose locked file this process inherited as `fd` — the hand-over from a parent
 * that acquired it (a daemon's original process) to the process that now owns it. Checks that `fd` is
 * the file at `path` and that its lock is held through it, then writes `pid` into it. The lock never
 * lapses on the way: the open file, with its lock, was passed along.
 */
export function adopt(path: string, fd: number, options: AdoptOptions = {}): PidFile {
  const { pid = process.pid, removeOnExit = true } = options;
  if (!isValidPid(pid)) throw new RangeError(`pid must be a positive integer no larger than pid_max, got ${pid}`);
  let named: boolean;
  try {
    named = stillNamed(path, fd);
  } catch (error) {
    throw new PidFileError('ERR_PIDFILE_NOT_A_FILE', path, `fd ${fd} is not an open file: ${(error as Error).message}`, { cause: error });
  }
  if (!named) throw new PidFileError('ERR_PIDFILE_NOT_A_FILE', path, `fd ${fd} is not the file at ${path} (it was replaced or removed)`);
  // Taking a lock this open file already holds succeeds; anyone else's lock makes it fail.
  if (!flock(fd, 'exclusive')) throw new PidFileLockedError(path, pidIn(fd));
  const held = new Held(path, pid, fd, 'flock', removeOnExit, false);
  held.update(pid);
  return held;
}
