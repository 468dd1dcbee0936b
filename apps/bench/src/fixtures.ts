import { fileURLToPath } from 'node:url';
import { startFixture, type Fixture } from '@x/test-utils';

/** Path of a bench fixture program (apps/bench/fixtures). */
export const benchFixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/** Runs a bench fixture with this Node and returns its handle. */
export const runFixture = (name: string, args: readonly string[] = []): Fixture => startFixture(benchFixture(name), args);

/** Monotonic nanoseconds, the same clock in every process of this machine. */
export const now = (): bigint => process.hrtime.bigint();

/** Kills a pid, ignoring one that is already gone. */
export function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}
