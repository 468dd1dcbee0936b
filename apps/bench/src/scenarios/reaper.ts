import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Contender, Scenario } from '../harness.js';
import { ensureDebianPackage } from '../debian.js';
import { runFixture } from '../fixtures.js';
import { idleUsage, type Usage } from '../usage.js';

const ORPHANS = 5000;
// The x-reaper command as @x/reaper's manifest names it.
const reaperManifest = createRequire(import.meta.url).resolve('@x/reaper/package.json');
const xReaper = join(reaperManifest, '..', (JSON.parse(readFileSync(reaperManifest, 'utf8')) as { bin: Record<string, string> }).bin['x-reaper'] ?? 'missing');
// Every orphan is a `sleep` whose shell exited at once; at the end the script counts the zombies left
// in the namespace (its own /proc).
const STORM = `i=0; while [ $i -lt ${ORPHANS} ]; do sh -c 'sleep 0.001 &'; i=$((i + 1)); done; sleep 0.3; echo $(grep -l '^State:.Z' /proc/[0-9]*/status 2>/dev/null | wc -l)`;

// Runs its arguments as a child, like an init, but never collects an orphan.
const NODE_PID1 = "const c = require('node:child_process').spawn(process.argv[1], process.argv.slice(2), { stdio: 'inherit' }); c.on('exit', (code) => process.exit(code ?? 1));";

function storm(name: string, init: () => string[] | string, extra: Partial<Contender> = {}): Contender {
  const zombies: number[] = [];
  return {
    name,
    ...extra,
    run: async () => {
      const command = init();
      if (typeof command === 'string') throw new Error(command);
      const started = performance.now();
      const child = spawn('unshare', ['-p', '-f', '--mount-proc', ...command, 'sh', '-c', STORM], { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await new Promise((resolve) => child.once('exit', resolve));
      zombies.push(Number(output.trim()));
      return (performance.now() - started) / 1000;
    },
    notes: () => `zombies left at the end: ${zombies.join(', ')}`,
  };
}

function sweep(children: number): Contender {
  return {
    name: `reap().sweep() with ${children.toLocaleString('en-US')} live children`,
    ...(children === 1000 ? { ours: true } : {}),
    run: async () => {
      const fixture = runFixture('reaper-sweep.mjs', [String(children), '200']);
      const line = await fixture.nextLine(60_000);
      await fixture.exit(10_000);
      return Number(line);
    },
  };
}

const SETTLE_MS = 2000;
const IDLE_MS = 10_000;

function idle(name: string, command: () => string[] | string, extra: Partial<Contender> = {}): Contender {
  const seen: Usage[] = [];
  return {
    name,
    ...extra,
    run: async () => {
      const argv = command();
      if (typeof argv === 'string') throw new Error(argv);
      const [file, ...args] = argv as [string, ...string[]];
      const child = spawn(file, [...args, '--', 'sleep', '600'], { stdio: 'ignore' });
      try {
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        const measured = await idleUsage(child.pid as number, IDLE_MS);
        seen.push(measured);
        return measured.rssMiB;
      } finally {
        spawnSync('pkill', ['-KILL', '-P', String(child.pid)]);
        child.kill('SIGKILL');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    },
    notes: () => {
      const last = seen.at(-1);
      return last === undefined ? '' : `CPU ${last.cpuMs} ms and ${last.wakeups} wake-ups in ${IDLE_MS / 1000} s idle`;
    },
  };
}

const tini = () => ensureDebianPackage('tini') ?? ['tini', '-s'];

export const reaperScenarios = (): Scenario[] => [
  {
    id: 'reaper-storm',
    title: 'Orphan storm in a PID namespace',
    unit: 's',
    description: `An init runs as PID 1 of a fresh PID namespace (\`unshare -p -f --mount-proc\`) with a shell that leaves ${ORPHANS.toLocaleString('en-US')} orphans behind, one after the other; wall time of the whole run, and the zombies the shell counts in the namespace at its end.`,
    target: "within 1.1× tini's wall time, with zero zombies.",
    trials: 3,
    warmup: 0,
    contenders: [
      storm('x-reaper', () => [process.execPath, xReaper, '--'], { ours: true }),
      storm('tini (Debian)', () => {
        const missing = ensureDebianPackage('tini');
        return missing ?? ['tini', '--'];
      }),
      // What a container gets with `node app.js` as its entrypoint and no reaping.
      storm('Node as PID 1 without reap()', () => [process.execPath, '-e', NODE_PID1]),
    ],
  },
  {
    id: 'reaper-sweep',
    title: 'Cost of one reaping sweep',
    unit: 'µs',
    description:
      'One `sweep()` of `reap()` in a subreaper with that many live adopted children (none of them ended): it reads the children list of the main thread once and asks `waitpid(pid, WNOHANG)` of each child Node did not start. Median of 200 sweeps per trial.',
    target: '≤ 1 ms at 1,000 children.',
    trials: 5,
    warmup: 1,
    contenders: [sweep(0), sweep(100), sweep(1000)],
  },
  {
    id: 'reaper-idle',
    title: 'An idle init',
    unit: 'MiB RSS',
    description: `The init with one child (\`sleep 600\`), idle for ${IDLE_MS / 1000} s after ${SETTLE_MS / 1000} s of settling: resident memory, and in the notes CPU time and wake-ups of all its threads.`,
    target: 'no timer firing more often than once a second while idle.',
    trials: 2,
    warmup: 0,
    contenders: [idle('x-reaper -s', () => [process.execPath, xReaper, '-s'], { ours: true }), idle('tini -s (Debian)', tini)],
  },
];
