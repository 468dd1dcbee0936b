import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Checks `done` with a backoff from 2 to 50 ms until it returns true (resolves true) or `timeout` ms
 * have passed (resolves false). Aborting rejects with the signal's reason.
 */
export async function poll(done: () => boolean, timeout: number, abort?: AbortSignal): Promise<boolean> {
  const deadline = performance.now() + timeout;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    abort?.throwIfAborted();
    if (done()) return true;
    const left = deadline - performance.now();
    if (left <= 0) return false;
    await sleep(Math.min(delay, left), undefined, abort ? { signal: abort } : {});
  }
}
