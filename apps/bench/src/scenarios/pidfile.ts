import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquire } from '@x/pidfile';
import lockfile from 'proper-lockfile';
import npid from 'npid';
import type { Contender, Scenario } from '../harness.js';
import { runFixture } from '../fixtures.js';

const CYCLES = 200;
const STALE_MS = 2000;
const PATIENCE_MS = 3000;

let directory: string | undefined;
const workDir = () => (directory ??= mkdtempSync(join(tmpdir(), 'x-bench-pidfile-')));
const cleanup = () => {
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  directory = undefined;
};

/** µs per acquire + release, over a batch of CYCLES on a path of its own. */
function cycles(name: string, cycle: (path: string) => Promise<void> | void, ours = false): Contender {
  let path = '';
  let last = 0;
  return {
    name,
    ...(ours ? { ours: true, teardown: cleanup } : {}),
    setup: () => {
      path = join(workDir(), `${name.replace(/\W+/g, '-')}.pid`);
    },
    run: async () => {
      const start = process.hrtime.bigint();
      for (let index = 0; index < CYCLES; index++) await cycle(path);
      last = Number(process.hrtime.bigint() - start) / 1000 / CYCLES;
      return last;
    },
    notes: () => `${Math.round(1e6 / last).toLocaleString('en-US')} cycles/s in the last trial`,
  };
}

/** ms from SIGKILL of an owner (holding it the way `kind` does) until we own the path ourselves. */
function takeover(name: string, kind: string, take: (path: string) => Promise<void>, extra: Partial<Contender> = {}): Contender {
  let round = 0;
  return {
    name,
    ...extra,
    run: async () => {
      const path = join(workDir(), `takeover-${kind}-${++round}.pid`);
      const owner = runFixture('pf-holder.mjs', [kind, path, String(STALE_MS)]);
      try {
        if ((await owner.nextLine(10_000)) !== 'held') throw new Error(`the owner did not take ${path}`);
      } catch (error) {
        owner.child.kill('SIGKILL');
        throw error;
      }
      owner.child.kill('SIGKILL');
      await owner.exited;
      const start = performance.now();
      for (;;) {
        try {
          await take(path);
          return performance.now() - start;
        } catch (error) {
          if (performance.now() - start > PATIENCE_MS) {
            throw new Error(`no takeover within ${PATIENCE_MS} ms of the owner's death: it never happens by itself (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
    },
  };
}

export const pidfileScenarios = (): Scenario[] => [
  {
    id: 'pidfile-cycle',
    title: 'PID file: acquire + release',
    unit: 'µs per cycle',
    description: `Taking and giving back the PID file (or lock) on one path, ${CYCLES} times per trial, in one process. Ours creates the file, locks it and fsyncs it; proper-lockfile creates and removes a lock directory and keeps its mtime fresh; npid and the plain \`writeFile\` with flag 'wx' write a file without any lock.`,
    target: 'at least 5× the rate of proper-lockfile.',
    trials: 20,
    warmup: 2,
    contenders: [
      cycles(
        '@x/pidfile acquire/release',
        async (path) => {
          (await acquire(path)).release();
        },
        true,
      ),
      cycles('proper-lockfile lock/unlock', async (path) => {
        const release = await lockfile.lock(path, { realpath: false });
        await release();
      }),
      cycles('npid create/remove', (path) => {
        npid.create(path).remove();
      }),
      cycles("writeFile 'wx' + unlink (no lock)", (path) => {
        writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
        unlinkSync(path);
      }),
    ],
  },
  {
    id: 'pidfile-takeover',
    title: 'PID file: a new owner after the old one was SIGKILLed',
    unit: 'ms',
    description: `The owner holds the PID file and is killed with SIGKILL; measured from its death until a new owner holds the path, retrying every 5 ms for up to ${PATIENCE_MS / 1000} s. proper-lockfile runs with its shortest stale timeout (${STALE_MS} ms; its default is 10 s). npid and \`writeFile\` 'wx' never take over by themselves: the file has to be removed by hand, or overwritten blindly (npid's \`force\`), which would also overwrite a live owner's file.`,
    target: 'no timeout at all: the next acquire succeeds at once.',
    trials: 20,
    warmup: 1,
    contenders: [
      takeover('@x/pidfile acquire', 'ours', async (path) => {
        (await acquire(path)).release();
      }, { ours: true, teardown: cleanup }),
      takeover('proper-lockfile lock', 'proper-lockfile', async (path) => {
        await (await lockfile.lock(path, { realpath: false, stale: STALE_MS }))();
      }, { trials: 3, notes: () => `waits out its stale timeout (${STALE_MS} ms here, 10 s by default)` }),
      takeover('npid create', 'npid', (path) => {
        npid.create(path).remove();
        return Promise.resolve();
      }),
      takeover("writeFile 'wx'", 'wx', (path) => {
        writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
        unlinkSync(path);
        return Promise.resolve();
      }),
    ],
  },
];
