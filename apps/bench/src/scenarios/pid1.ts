import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { descendantsOf, Fixture, spawnInPidNamespace, stateOf, waitFor } from '@x/test-utils';
import type { Contender, Scenario } from '../harness.js';
import { debianVersion, ensureDebianPackage } from '../debian.js';
import { benchFixture } from '../fixtures.js';
import { summarize } from '../stats.js';

const ORPHANS = 200;
// The x-reaper command as @x/reaper's manifest names it.
const reaperManifest = createRequire(import.meta.url).resolve('@x/reaper/package.json');
const xReaper = join(reaperManifest, '..', (JSON.parse(readFileSync(reaperManifest, 'utf8')) as { bin: Record<string, string> }).bin['x-reaper'] ?? 'missing');
const server = (mode: 'reap' | 'plain') => [process.execPath, benchFixture('pid1-server.mjs'), mode];

interface Trial {
  rssMiB: number;
  processes: number;
  zombies: number;
  exit: string;
}

function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'latin1').trim().split(' ')) if (child !== '') found.push(Number(child));
  }
  return found;
}

function status(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined;
  }
}

/** The namespace's processes, PID 1 first: their states and, for the living, resident memory and name. */
function census(pid1: number) {
  return [pid1, ...descendantsOf(pid1)].flatMap((pid) => {
    const text = status(pid);
    if (text === undefined) return [];
    const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(text)?.[1] ?? 0);
    return [{ pid, state: stateOf(pid) ?? '?', name: /^Name:\s+(.*)$/m.exec(text)?.[1] ?? '?', rssKiB }];
  });
}

const trials = new Map<string, Trial[]>();

function pid1(name: string, command: () => string[] | string, extra: Partial<Contender> = {}): Contender {
  const seen: Trial[] = [];
  trials.set(name, seen);
  return {
    name,
    ...extra,
    run: async () => {
      const argv = command();
      if (typeof argv === 'string') throw new Error(argv);
      const [file, ...args] = argv as [string, ...string[]];
      const unshare = new Fixture(spawnInPidNamespace(file, args, { stdio: ['ignore', 'pipe', 'pipe'] }), name);
      try {
        const port = Number((await unshare.nextLine(30_000)).split(' ')[1]);
        const [init = 0] = await waitFor(() => (childrenOf(unshare.pid).length === 1 ? childrenOf(unshare.pid) : undefined), { timeout: 10_000, message: 'PID 1 of the namespace' });
        const burst = await fetch(`http://127.0.0.1:${port}/orphans?count=${ORPHANS}`, { method: 'POST' });
        if ((await burst.text()).trim() !== String(ORPHANS)) throw new Error(`the server did not start ${ORPHANS} orphans`);
        // Every orphan sleeps 50 ms; then give the init a second to collect them before counting zombies.
        await waitFor(() => !census(init).some(({ name: program, state }) => program === 'sleep' && state !== 'Z'), { timeout: 10_000, interval: 20, message: 'the orphans to end' });
        await waitFor(() => !census(init).some(({ state }) => state === 'Z'), { timeout: 1000, interval: 20, message: 'zombies to be reaped' }).catch(() => undefined);
        const processes = census(init);
        const living = processes.filter(({ state }) => state !== 'Z');
        const started = performance.now();
        process.kill(init, 'SIGTERM');
        // unshare ends when PID 1 does, with its status: the outside observer of PID 1's exit.
        const { code, signal } = await unshare.exit(30_000);
        const latency = performance.now() - started;
        seen.push({
          rssMiB: living.reduce((sum, { rssKiB }) => sum + rssKiB, 0) / 1024,
          processes: living.length,
          zombies: processes.length - living.length,
          exit: signal ?? String(code),
        });
        return latency;
      } finally {
        if (unshare.child.exitCode === null && unshare.child.signalCode === null) {
          unshare.child.kill('SIGKILL');
          await unshare.exit();
        }
      }
    },
    notes: () => {
      if (seen.length === 0) return '';
      const rss = median(seen.map(({ rssMiB }) => rssMiB));
      const baseline = trials.get(BASELINE) ?? [];
      const over = baseline.length > 0 && name !== BASELINE ? ` (${signed(rss - median(baseline.map(({ rssMiB }) => rssMiB)))} MiB over the bare server)` : '';
      const counts = [...new Set(seen.map(({ processes }) => processes))].join('/');
      const exits = [...new Set(seen.map(({ exit }) => exit))].join(', ');
      const zombies = [...new Set(seen.map(({ zombies }) => zombies))].join(', ');
      return `RSS of the namespace ${rss.toFixed(1)} MiB in ${counts} process(es)${over}; zombies after ${ORPHANS} orphans: ${zombies}; exit code ${exits}${extra.notes ? `; ${extra.notes()}` : ''}`;
    },
  };
}

const median = (values: number[]) => summarize(values).median;
const signed = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)}`;
const BASELINE = 'server as PID 1 without reap() (baseline)';
const debian = (pkg: string, argv: string[]) => () => ensureDebianPackage(pkg) ?? argv;

export const pid1Scenarios = (): Scenario[] => [
  {
    id: 'pid1',
    title: 'A Node HTTP server as PID 1',
    unit: 'ms from SIGTERM to exit',
    description: `A Node HTTP server is the main process of a fresh PID namespace (\`unshare -p -f --mount-proc\`), alone and calling \`reap()\` itself, or behind an init. Each trial starts the namespace, has the server leave ${ORPHANS} orphans behind (\`sh -c 'sleep 0.05 &'\`, over HTTP), waits for them to end, then sends SIGTERM to the namespace's PID 1 from outside: measured from the kill until PID 1 has exited (as unshare, its parent, reports it). The server closes and exits 0 on SIGTERM. The notes give the resident memory of every process of the namespace (summed VmRSS, after the burst), the zombies left a second after the orphans ended, and the exit code.`,
    target: "the server calling reap() needs no extra process, adds ≤ 1 MB RSS to the server, and stops within 1.1× tini's latency.",
    trials: 20,
    warmup: 2,
    contenders: [
      pid1('server calling reap() as PID 1', () => server('reap'), { ours: true }),
      pid1('tini + server (Debian)', debian('tini', ['tini', '--', ...server('plain')])),
      pid1('dumb-init + server (Debian)', debian('dumb-init', ['dumb-init', ...server('plain')]), { notes: () => `dumb-init ${debianVersion('dumb-init')}` }),
      pid1('x-reaper + server', () => [process.execPath, xReaper, '--', ...server('plain')]),
      pid1(BASELINE, () => server('plain')),
    ],
  },
];
