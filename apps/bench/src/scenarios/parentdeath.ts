import { beParent, type ParentInfo } from '@x/parentdeath';
import type { Contender, Scenario } from '../harness.js';
import { ensureDebianPackage } from '../debian.js';
import { killQuietly, now, runFixture } from '../fixtures.js';
import { idleUsage, type Usage } from '../usage.js';

type Approach = 'parentdeath' | 'ppid-poll' | 'ipc-disconnect' | 'pdeathsig';
type Launch = 'direct' | 'setsid' | 'sudo';

const approaches: { approach: Approach; name: string }[] = [
  { approach: 'parentdeath', name: '@x/parentdeath monitor()' },
  { approach: 'ppid-poll', name: 'poll process.ppid every 100 ms' },
  { approach: 'ipc-disconnect', name: "IPC channel 'disconnect'" },
  { approach: 'pdeathsig', name: 'PR_SET_PDEATHSIG (@x/sys)' },
];

interface Outcome {
  /** ms from SIGKILL of the parent to the child's conclusion; undefined when it never concluded. */
  latency: number | undefined;
  /** The child concluded before the parent was killed. */
  early: boolean;
}

/** One trial: start parent + child, SIGKILL the parent, time the child's "dead" line. */
async function trial(approach: Approach, launch: Launch, patience = 3000): Promise<Outcome> {
  const parent = runFixture('pd-parent.mjs', [approach, launch]);
  let childPid: number | undefined;
  try {
    const first = await parent.nextLine(10_000);
    if (first.startsWith('dead ')) return { latency: undefined, early: true };
    childPid = Number(first.split(' ')[1]);
    // Kill at a random moment, so that polling approaches are caught at a random phase of their period.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 100));
    const killedAt = now();
    parent.child.kill('SIGKILL');
    const line = await parent.nextLine(patience).catch(() => undefined);
    if (line?.startsWith('dead ') !== true) return { latency: undefined, early: false };
    return { latency: Number(BigInt(line.split(' ')[1] ?? '0') - killedAt) / 1e6, early: false };
  } finally {
    parent.child.kill('SIGKILL');
    if (childPid !== undefined) killQuietly(childPid);
    await parent.exited;
  }
}

const error = (value: unknown) => (value instanceof Error ? value.message.replace(/ \(stderr: .*$/s, '') : String(value));

const describeOutcome = (outcome: Outcome) =>
  outcome.early ? 'fired before the parent died' : outcome.latency === undefined ? 'never noticed' : `noticed in ${outcome.latency.toFixed(1)} ms`;

/** Whether an approach still works when the child is launched through `launch`; measured, not assumed. */
async function survives(approach: Approach, launch: Launch, available: boolean): Promise<string> {
  if (!available) return `${launch}: n/a (not installed)`;
  const outcome = await trial(approach, launch, 2000).catch((error: unknown) => ({ error }));
  if ('error' in outcome) return `${launch}: no (the child never got going: ${error(outcome.error)})`;
  const ok = !outcome.early && outcome.latency !== undefined;
  return `${launch}: ${ok ? 'yes' : 'no'} (${describeOutcome(outcome)})`;
}

function latencyContender(approach: Approach, name: string): Contender {
  let survival = '';
  return {
    name,
    ...(approach === 'parentdeath' ? { ours: true } : {}),
    setup: async () => {
      const sudo = ensureDebianPackage('sudo') === undefined;
      survival = [await survives(approach, 'setsid', true), await survives(approach, 'sudo', sudo)].join('; ');
    },
    run: async () => {
      const outcome = await trial(approach, 'direct');
      if (outcome.latency === undefined) throw new Error(describeOutcome(outcome));
      return outcome.latency;
    },
    notes: () => `survives indirect launch — ${survival}`,
  };
}

const IDLE_MS = 10_000;
const SETTLE_MS = 10_000;

function idleContender(approach: 'none' | 'parentdeath' | 'ppid-poll', name: string): Contender {
  const seen: Usage[] = [];
  return {
    name,
    ...(approach === 'parentdeath' ? { ours: true } : {}),
    run: async () => {
      const child = runFixture('idle.mjs', [approach]);
      try {
        await child.nextLine(10_000);
        // Let start-up settle (V8's memory reducer fires ~8 s after start-up activity), then count only the idle window.
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        const delta = await idleUsage(child.pid, IDLE_MS);
        seen.push(delta);
        return delta.rssMiB;
      } finally {
        child.child.kill('SIGKILL');
        await child.exited;
      }
    },
    notes: () => {
      const last = seen.at(-1);
      const mean = (pick: (entry: Usage) => number) => seen.reduce((sum, entry) => sum + pick(entry), 0) / Math.max(seen.length, 1);
      return last === undefined ? '' : `CPU ${mean((entry) => entry.cpuMs).toFixed(0)} ms and ${mean((entry) => entry.wakeups).toFixed(0)} wake-ups per ${IDLE_MS / 1000} s idle`;
    },
  };
}

function importContender(module: string, name: string, ours = false): Contender {
  return {
    name,
    ...(ours ? { ours: true } : {}),
    run: async () => {
      const child = runFixture('import-time.mjs', [module]);
      const line = await child.nextLine(10_000);
      await child.exit();
      return Number(line);
    },
  };
}

export function parentdeathScenarios(): Scenario[] {
  let parent: ParentInfo | undefined;
  return [
    {
      id: 'parentdeath-latency',
      title: "Parent SIGKILLed: time until the child knows",
      unit: 'ms',
      description:
        'A parent starts a child and is killed with SIGKILL; measured from the kill to the moment the child concludes its parent is dead (one monotonic clock for both processes). The notes say, as measured in the same run, whether each approach still works when the child is launched through `setsid -f` (re-parented at once) or `sudo` (a set-user-ID exec in between).',
      target: 'ours p99 ≤ 5 ms (the kernel tears the parent down in ~2 ms; ppid polling sits near 50 ms).',
      trials: 100,
      warmup: 3,
      contenders: approaches.map(({ approach, name }) => latencyContender(approach, name)),
    },
    {
      id: 'parentdeath-idle',
      title: 'Idle cost of a watching child',
      unit: 'MiB RSS',
      description: `A child that only watches its parent, idle for ${IDLE_MS / 1000} s after ${SETTLE_MS / 1000} s of settling: resident memory at the end, and in the notes its CPU time and wake-ups (context switches of all its threads) during the idle window, next to a child that watches nothing and one that polls.`,
      target: 'no more wake-ups than an unmonitored child; ≤ 2 MB more RSS.',
      trials: 3,
      warmup: 0,
      contenders: [
        {
          ...idleContender('parentdeath', '@x/parentdeath monitor()'),
          setup: async () => {
            parent = await beParent();
          },
          teardown: async () => {
            await parent?.close();
          },
        },
        idleContender('none', 'unmonitored child'),
        idleContender('ppid-poll', 'poll process.ppid every 100 ms'),
      ],
    },
    {
      id: 'parentdeath-import',
      title: 'Cost of importing @x/parentdeath',
      unit: 'ms',
      description:
        'Time of `await import(...)` in a fresh process, after two packages by name and three small files were imported first (the first imports of a process pay for compiling the module loader itself; a real program has paid that by the time its imports reach this one). The floor is a one-line file module.',
      target: '≤ 2 ms.',
      trials: 30,
      warmup: 2,
      contenders: [
        importContender('@x/parentdeath', "import('@x/parentdeath')", true),
        importContender('./warm.mjs?floor', 'a one-line module (floor)'),
      ],
    },
  ];
}
