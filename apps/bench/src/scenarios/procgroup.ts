import { spawn } from 'node:child_process';
import { readProcStat } from '@x/sys';
import { killTree, spawnGroup } from '@x/procgroup';
import { execa } from 'execa';
import treeKill from 'tree-kill';
import type { Contender, Scenario } from '../harness.js';
import { killQuietly, runFixture } from '../fixtures.js';

// A three-level tree of 33 processes: a shell, 4 shells under it, 7 sleeps under each of those.
const WIDTH = 4;
const LEAVES = 7;
const SIZE = 1 + WIDTH + WIDTH * LEAVES;
const TREE = `for i in $(seq ${WIDTH}); do sh -c 'for j in $(seq ${LEAVES}); do sleep 600 & done; wait' & done; wait`;
const PATIENCE_MS = 1000;

const alive = (pid: number) => {
  const state = readProcStat(pid)?.state;
  return state !== undefined && state !== 'Z' && state !== 'X';
};

/**
 * Pids of `root` and all its descendants once the whole tree of SIZE is up and settled: every one of
 * them asleep ('S': the shells in wait, the leaves in sleep). Counting live pids alone would start the
 * clock while shells are still forking and children are still exec'ing sleep, which is slower to kill
 * and varies from trial to trial.
 */
async function grown(root: number): Promise<number[]> {
  const { descendantsOf } = await import('@x/sys');
  for (;;) {
    const pids = [root, ...descendantsOf(root)];
    const states = pids.map((pid) => readProcStat(pid));
    if (states.length === SIZE && states.every((stat) => stat?.state === 'S' && (stat.comm === 'sh' || stat.comm === 'sleep'))) return pids;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * ms from `start` until none of `pids` is alive (a zombie counts as dead), polling /proc every 0.5 ms;
 * throws with the count left alive after PATIENCE_MS.
 */
async function timeUntilGone(pids: readonly number[], start: number): Promise<number> {
  for (;;) {
    const left = pids.filter(alive);
    if (left.length === 0) return performance.now() - start;
    if (performance.now() - start > PATIENCE_MS) {
      for (const pid of left) killQuietly(pid);
      throw new Error(`leaves ${left.length} of ${pids.length} processes alive after ${PATIENCE_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 0.5));
  }
}

function treeContender(name: string, kill: (tree: { pid: number; pids: number[] }) => unknown, start: () => number, extra: Partial<Contender> = {}): Contender {
  return {
    name,
    ...extra,
    run: async () => {
      const pid = start();
      const pids = await grown(pid);
      const begin = performance.now();
      void kill({ pid, pids });
      return timeUntilGone(pids, begin);
    },
  };
}

// Trees for the peers are started as plain detached children, so that whatever a peer leaves behind can
// still be cleaned up by group.
const plainTree = () => {
  const child = spawn('sh', ['-c', TREE], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid as number;
};

function ownerDeath(name: string, kind: string, extra: Partial<Contender> = {}): Contender {
  return {
    name,
    ...extra,
    run: async () => {
      const owner = runFixture('pg-owner.mjs', [kind, TREE, String(SIZE)]);
      const pids = JSON.parse(await owner.nextLine(20_000)) as number[];
      const begin = performance.now();
      owner.child.kill('SIGKILL');
      try {
        return await timeUntilGone(pids, begin);
      } finally {
        await owner.exited;
      }
    },
  };
}

const SPAWNS = 10;

function spawnCost(name: string, start: () => { spawned: Promise<unknown>; done: Promise<unknown> }, extra: Partial<Contender> = {}): Contender {
  return {
    name,
    ...extra,
    run: async () => {
      let total = 0;
      for (let index = 0; index < SPAWNS; index++) {
        const begin = performance.now();
        const { spawned, done } = start();
        await spawned;
        total += performance.now() - begin;
        await done;
      }
      return total / SPAWNS;
    },
  };
}

export const procgroupScenarios = (): Scenario[] => [
  {
    id: 'procgroup-tree',
    title: 'Killing a 33-process tree',
    unit: 'ms',
    description: `A three-level tree (a shell, ${WIDTH} shells, ${LEAVES} sleeps under each: ${SIZE} processes), started and settled (every process asleep), is killed with SIGKILL; measured until none of them is alive any more, polling /proc every 0.5 ms (zombies count as dead). A contender that leaves processes alive is reported with how many, after ${PATIENCE_MS} ms.`,
    target: 'gone in ≤ 10 ms.',
    // Enough trials that p99 is not simply the slowest of a handful.
    trials: 100,
    warmup: 2,
    contenders: [
      treeContender('@x/procgroup group.kill()', ({ pid }) => groups.get(pid)?.kill(), () => {
        const group = spawnGroup('sh', ['-c', TREE], { stdio: 'ignore' });
        groups.set(group.pid as number, group);
        return group.pid as number;
      }, { ours: true }),
      treeContender("@x/procgroup group.kill(), containment 'cgroup'", ({ pid }) => groups.get(pid)?.kill(), () => {
        const group = spawnGroup('sh', ['-c', TREE], { stdio: 'ignore', containment: 'cgroup' });
        groups.set(group.pid as number, group);
        return group.pid as number;
      }),
      // The floor: one kill(2) of the whole group, nothing else; what is left is the 33 exits themselves.
      treeContender('floor: process.kill(-pgid, SIGKILL) alone', ({ pid }) => {
        process.kill(-pid, 'SIGKILL');
      }, plainTree),
      treeContender('@x/procgroup killTree(pid)', ({ pid }) => killTree(pid, 'SIGKILL'), plainTree),
      treeContender('tree-kill', ({ pid }) => {
        treeKill(pid, 'SIGKILL');
      }, plainTree),
      treeContender('execa 9 subprocess.kill()', ({ pid }) => subprocesses.get(pid)?.kill('SIGKILL'), () => {
        const subprocess = execa('sh', ['-c', TREE], { stdio: 'ignore', detached: true });
        subprocess.catch(() => undefined);
        subprocesses.set(subprocess.pid as number, subprocess);
        return subprocess.pid as number;
      }),
      treeContender('execa 9 kill() with forceKillAfterDelay: 100', ({ pid }) => subprocesses.get(pid)?.kill(), () => {
        const subprocess = execa('sh', ['-c', TREE], { stdio: 'ignore', detached: true, forceKillAfterDelay: 100 });
        subprocess.catch(() => undefined);
        subprocesses.set(subprocess.pid as number, subprocess);
        return subprocess.pid as number;
      }),
    ],
  },
  {
    id: 'procgroup-owner-death',
    title: 'Owner SIGKILLed: time until its tree is gone',
    unit: 'ms',
    description: `The owner starts a ${SIZE}-process tree and is killed with SIGKILL; measured until none of the tree is alive. execa's \`cleanup\` (on by default) only runs when its owner exits by itself.`,
    target: 'p99 ≤ 20 ms.',
    trials: 30,
    warmup: 1,
    contenders: [
      ownerDeath('@x/procgroup spawnGroup (watchdog)', 'group', { ours: true }),
      ownerDeath("@x/procgroup spawnGroup, containment 'cgroup'", 'cgroup'),
      ownerDeath('execa 9 with cleanup: true', 'execa', { trials: 3 }),
    ],
  },
  {
    id: 'procgroup-spawn',
    title: 'Cost of starting a group',
    unit: 'ms per spawn',
    description: `Time from the call until the child has started (its 'spawn' event), averaged over ${SPAWNS} sequential spawns of \`true\`: spawnGroup with die-with-owner on, next to a plain \`child_process.spawn\`.`,
    target: '≤ 1.5× a plain spawn (median).',
    trials: 30,
    warmup: 3,
    contenders: [
      spawnCost('@x/procgroup spawnGroup', () => {
        const group = spawnGroup('true');
        return { spawned: new Promise((resolve) => group.child.once('spawn', resolve)), done: group.exited };
      }, { ours: true }),
      spawnCost('child_process.spawn', () => {
        const child = spawn('true');
        return { spawned: new Promise((resolve) => child.once('spawn', resolve)), done: new Promise((resolve) => child.once('exit', resolve)) };
      }),
      spawnCost("@x/procgroup spawnGroup, containment 'cgroup'", () => {
        const group = spawnGroup('true', [], { containment: 'cgroup' });
        return { spawned: new Promise((resolve) => group.child.once('spawn', resolve)), done: group.terminate() };
      }),
    ],
  },
];

const groups = new Map<number, ReturnType<typeof spawnGroup>>();
const subprocesses = new Map<number, ReturnType<typeof execa>>();
