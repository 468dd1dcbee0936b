import { getppid, readProcStat } from '@x/sys';
import { readFileSync } from 'node:fs';
import type { Scenario } from '../harness.js';

const CALLS = 10_000;

/** Nanoseconds per call of `fn`, over a batch of CALLS calls. */
function perCall(fn: () => unknown): number {
  let sink: unknown;
  const start = process.hrtime.bigint();
  for (let index = 0; index < CALLS; index++) sink = fn();
  const elapsed = Number(process.hrtime.bigint() - start);
  if (sink === Symbol.for('never')) throw new Error('unreachable');
  return elapsed / CALLS;
}

export const syscallScenarios = (): Scenario[] => [
  {
    id: 'sys-getppid',
    title: 'Cost of one @x/sys call',
    unit: 'ns per call',
    description: `Asking the kernel for our parent's pid through @x/sys (koffi over libc) next to Node's built-in \`process.ppid\`, in batches of ${CALLS.toLocaleString('en-US')} calls.`,
    trials: 50,
    warmup: 5,
    contenders: [
      { name: '@x/sys getppid()', ours: true, run: () => perCall(getppid) },
      { name: 'process.ppid (built-in)', run: () => perCall(() => process.ppid) },
    ],
  },
  {
    id: 'sys-proc-stat',
    title: 'Reading one process from /proc',
    unit: 'µs per read',
    description: `Reading and parsing /proc/PID/stat with @x/sys \`readProcStat\` next to a bare \`readFileSync\` of the same file (no parsing), in batches of ${CALLS.toLocaleString('en-US')}.`,
    trials: 20,
    warmup: 2,
    contenders: [
      { name: '@x/sys readProcStat()', ours: true, run: () => perCall(() => readProcStat(process.pid)) / 1000 },
      { name: "fs.readFileSync('/proc/self/stat')", run: () => perCall(() => readFileSync('/proc/self/stat', 'latin1')) / 1000 },
    ],
  },
];
