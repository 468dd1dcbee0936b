import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cgroupKillSupport } from '@x/sys';
import { isAlive, pidExists, requirement, startFixture, waitFor, type Fixture } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { allGone } from './helpers.js';

// The die-with-owner watchdog's script on its own: fed the lines the owner writes, then its input closed
// the way the kernel closes it when the owner dies. What it did is asked of the kernel.

const script = fileURLToPath(new URL('../src/watchdog.sh', import.meta.url));
const cgroups = requirement('a writable cgroup v2 hierarchy with cgroup.kill', () => {
  const support = cgroupKillSupport();
  return 'reason' in support ? support.reason : undefined;
});

/** The watchdog, run as the owner runs it: in a session of its own, its input a pipe from us. */
function startWatchdog(): Fixture {
  return startFixture('sh', [script], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A process group of two, a shell and its sleeping child, in a session of its own, once both run. */
async function startGroup(): Promise<{ leader: Fixture; pgid: number; members: number[] }> {
  const leader = startFixture('sh', ['-c', 'sleep 600 & echo $!; wait'], { detached: true });
  const child = Number(await leader.nextLine());
  return { leader, pgid: leader.pid, members: [leader.pid, child] };
}

/** A process in a session and group of its own that nothing else knows about. */
const startLoner = () => startFixture('sleep', ['600'], { detached: true });

/** Closes the watchdog's input, as the owner's death does, and waits for it to end; how it ended. */
async function closeInput(watchdog: Fixture) {
  watchdog.child.stdin?.end();
  const exit = await watchdog.exit();
  // It is gone from the kernel, not only from our view of it.
  expect(pidExists(watchdog.pid)).toBe(false);
  return exit;
}

const killQuietly = (pids: readonly number[]) => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
};

describe('the die-with-owner watchdog script', () => {
  it('kills every group still listed once its input ends, spares the ones withdrawn, and exits', async () => {
    const watchdog = startWatchdog();
    const [kept, withdrawn, alsoKept] = await Promise.all([startGroup(), startGroup(), startGroup()]);
    try {
      watchdog.child.stdin?.write(`g ${kept.pgid}\ng ${withdrawn.pgid}\ng ${alsoKept.pgid}\nu ${withdrawn.pgid}\n`);
      expect(await closeInput(watchdog)).toEqual({ code: 0, signal: null });
      // The leaders are our children: how they ended is what waitpid says.
      expect(await kept.leader.exit()).toEqual({ code: null, signal: 'SIGKILL' });
      expect(await alsoKept.leader.exit()).toEqual({ code: null, signal: 'SIGKILL' });
      await allGone([...kept.members, ...alsoKept.members], 5000, 'the members of the groups still listed');
      // It has done all it will do (it exited): the withdrawn group lives on.
      expect(withdrawn.members.filter(isAlive)).toEqual(withdrawn.members);
    } finally {
      killQuietly([...kept.members, ...withdrawn.members, ...alsoKept.members]);
      await allGone([...kept.members, ...withdrawn.members, ...alsoKept.members]);
    }
  });

  it.runIf(cgroups.ok)('kills every process in the cgroups still listed, in their own groups too, and removes those cgroups', async () => {
    const support = cgroupKillSupport();
    if ('reason' in support) throw new Error(support.reason);
    // A space in a name: the script keeps cgroups one per line, not split at blanks.
    const directories = ['kept 1', 'withdrawn', 'kept 2'].map((name) => join(support.directory, `x-procgroup-test-watchdog-${process.pid}-${name}`));
    const loners = directories.map(() => startLoner());
    const watchdog = startWatchdog();
    try {
      directories.forEach((directory, index) => {
        mkdirSync(directory);
        writeFileSync(join(directory, 'cgroup.procs'), String(loners[index]?.pid));
        expect(readFileSync(join(directory, 'cgroup.procs'), 'latin1')).toBe(`${loners[index]?.pid}\n`);
      });
      const [kept, withdrawn, alsoKept] = directories as [string, string, string];
      const [keptLoner, withdrawnLoner, alsoKeptLoner] = loners as [Fixture, Fixture, Fixture];
      watchdog.child.stdin?.write(`c ${kept}\nc ${withdrawn}\nc ${alsoKept}\nd ${withdrawn}\n`);
      expect(await closeInput(watchdog)).toEqual({ code: 0, signal: null });
      // Only cgroup.kill could reach them: their process groups were never listed.
      expect(await keptLoner.exit()).toEqual({ code: null, signal: 'SIGKILL' });
      expect(await alsoKeptLoner.exit()).toEqual({ code: null, signal: 'SIGKILL' });
      // It removes the cgroups before it exits, so they are gone now; the withdrawn one is left alone.
      expect([kept, alsoKept].filter((directory) => existsSync(directory))).toEqual([]);
      expect(existsSync(withdrawn)).toBe(true);
      expect(isAlive(withdrawnLoner.pid)).toBe(true);
    } finally {
      killQuietly(loners.map((loner) => loner.pid));
      await Promise.all(loners.map((loner) => loner.exit()));
      for (const directory of directories) {
        await waitFor(
          () => {
            try {
              rmdirSync(directory);
              return true;
            } catch (error) {
              return (error as NodeJS.ErrnoException).code === 'ENOENT';
            }
          },
          { message: `the test's cgroup ${directory} to be removable` },
        );
      }
    }
  });
});
