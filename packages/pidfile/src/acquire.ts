import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { debuglog } from 'node:util';
import { PidFileError, PidFileLockedError } from './errors.js';
import { hold, type PidFile } from './held.js';
import { resolveAcquireOptions, type AcquireOptions } from './options.js';
import { tryCreate, tryFlock } from './take-over.js';

export type { PidFile } from './held.js';
export type { AcquireOptions, Locking } from './options.js';

const debug = debuglog('x:pidfile');

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
  const { pid, wait, signal, createDirectory, mode, removeOnExit, locking, sync } = resolveAcquireOptions(path, options);
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
