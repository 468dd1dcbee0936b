import { readdirSync } from 'node:fs';
import { ownCgroup } from '@x/sys';
import { isAlive, waitFor } from '@x/test-utils';

export const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

/** Waits until none of `pids` is alive (gone or a zombie), per /proc. */
export function allGone(pids: readonly number[], timeout = 5000, what = 'all members to be gone'): Promise<boolean> {
  return waitFor(() => pids.every((pid) => !isAlive(pid)), { timeout, message: `${what}: ${pids.filter(isAlive).join(' ')}` });
}

/** cgroup leaves of this process still on disk. */
export function ourLeaves(owner = process.pid): string[] {
  const location = process.platform === 'linux' ? ownCgroup() : undefined;
  if (location === undefined) return [];
  return readdirSync(location.directory).filter((name) => name.startsWith(`x-procgroup-${owner}-`));
}

/** A shell tree of three levels: the leader, `width` shells, each with `width` sleeps. */
export const threeLevels = (width: number) =>
  `for i in $(seq ${width}); do sh -c 'for j in $(seq ${width}); do sleep 60 & done; wait' & done; echo up; wait`;
