import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this many milliseconds (default 5000). */
  timeout?: number;
  /** Poll every this many milliseconds (default 5). */
  interval?: number;
  /** What did not happen, for the error ("fixture to exit"). */
  message: string;
}

/**
 * Polls `condition` until it returns a truthy value and resolves with that value; rejects with
 * "timed out after N ms waiting for <message>" at the deadline. Every wait in our tests goes through here.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions): Promise<NonNullable<T>> {
  const { timeout = 5000, interval = 5, message } = options;
  const deadline = performance.now() + timeout;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${message}`);
    await sleep(interval);
  }
}

/** Rejects with "timed out after N ms waiting for <message>" unless `promise` settles first. */
export async function deadline<T>(promise: Promise<T>, timeout: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${timeout} ms waiting for ${message}`));
    }, timeout);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
