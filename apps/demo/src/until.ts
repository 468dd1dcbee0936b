/**
 * Polls `condition` every millisecond until it holds and resolves with how long that took (in ms);
 * rejects with "<what> did not happen within <timeout> ms" at the deadline.
 */
export async function until(condition: () => boolean, timeout: number, what: string): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeout) throw new Error(`${what} did not happen within ${timeout} ms`);
    // Every millisecond: the tour reports how soon things happen, to about that precision.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return performance.now() - started;
}
