import { readdirSync, readFileSync } from 'node:fs';

/** What a process costs: CPU time of all its threads, resident memory, and wake-ups. */
export interface Usage {
  cpuMs: number;
  rssMiB: number;
  /** Context switches, voluntary and not, summed over every thread. */
  wakeups: number;
}

const field = (status: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);

/** Reads a process's usage from /proc (CPU in ticks of 10 ms). */
export function usage(pid: number): Usage {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  let wakeups = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'latin1');
    wakeups += field(status, 'voluntary_ctxt_switches') + field(status, 'nonvoluntary_ctxt_switches');
  }
  return { cpuMs: ticks * 10, rssMiB: field(readFileSync(`/proc/${pid}/status`, 'latin1'), 'VmRSS') / 1024, wakeups };
}

/** The usage of `pid` over `ms` of idling: CPU and wake-ups in that window, RSS at its end. */
export async function idleUsage(pid: number, ms: number): Promise<Usage> {
  const before = usage(pid);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = usage(pid);
  return { cpuMs: after.cpuMs - before.cpuMs, rssMiB: after.rssMiB, wakeups: after.wakeups - before.wakeups };
}
