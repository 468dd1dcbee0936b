import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Contender, Scenario } from '../harness.js';
import { benchFixture } from '../fixtures.js';

let directory: string | undefined;
let counter = 0;
const marker = () => join((directory ??= mkdtempSync(join(tmpdir(), 'x-bench-daemon-'))), `ready-${++counter}`);
const cleanup = () => {
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  directory = undefined;
};

/** ms from launching `argv` until it has exited and its daemon has written the marker file. */
async function startToReady(argv: string[], file: string): Promise<number> {
  const started = performance.now();
  const caller = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  caller.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => caller.once('exit', resolve));
  if (code !== 0) throw new Error(`the caller exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}`);
  while (!existsSync(file)) {
    if (performance.now() - started > 10_000) throw new Error('the daemon never became ready');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return performance.now() - started;
}

function contender(name: string, argv: (file: string) => string[], extra: Partial<Contender> = {}): Contender {
  return {
    name,
    ...extra,
    run: () => {
      const file = marker();
      return startToReady(argv(file), file);
    },
  };
}

export const daemonScenarios = (): Scenario[] => [
  {
    id: 'daemon-start',
    title: 'Daemon start: until ready and the caller has exited',
    unit: 'ms',
    description:
      "From launching the program until its original process has exited and its daemon is running its own code (has written a file). Ours runs the program once more (parent, a /bin/sh session leader, daemon) and the original process waits for ready(); the `daemon` package spawns once and exits at once without waiting (it needs `{ cwd: process.cwd() }`: its default crashes on current Node); daemonize2 forks a wrapper. The floor is two `node -e 0` in a row, the Node start-ups our stages need.",
    target: '≤ 1.1× the `daemon` package, while still waiting for ready().',
    trials: 20,
    warmup: 2,
    contenders: [
      contender('@x/daemon daemonize()', (file) => [benchFixture('dm-ours.mjs'), file], { ours: true, teardown: cleanup }),
      contender('daemon (npm)', (file) => [benchFixture('dm-daemon.mjs'), file]),
      contender('daemonize2', (file) => [benchFixture('dm-daemonize2.cjs'), file]),
      {
        name: 'floor: 2 × node -e 0',
        run: async () => {
          const started = performance.now();
          for (let index = 0; index < 2; index++) {
            await new Promise((resolve) => spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }).once('exit', resolve));
          }
          return performance.now() - started;
        },
      },
    ],
  },
];
