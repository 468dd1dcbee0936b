import { constants } from 'node:os';
import { SystemError } from './errors.js';
import { libc } from './libc.js';
import { requireLinux } from './platform.js';
import { readProcFile, type ProcStat } from './stat.js';

let ticks: number | undefined;

/** Clock ticks per second (sysconf(_SC_CLK_TCK)), the unit of /proc start times. */
export function clockTicksPerSecond(): number {
  if (ticks === undefined) {
    const _SC_CLK_TCK = 2;
    const value = process.platform === 'linux' ? libc().sysconf(_SC_CLK_TCK) : -1;
    ticks = value > 0 ? value : 100;
  }
  return ticks;
}

/** Parses /proc/uptime: seconds since boot (suspend included), to 10 ms. */
export function parseUptime(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * When this machine booted, in ms since the epoch, as the current wall clock sees it: now minus
 * /proc/uptime, precise to ~10 ms (the `btime` of /proc/stat has whole seconds only). Linux only.
 */
export function bootTime(): number {
  requireLinux('/proc');
  const now = Date.now();
  const uptime = parseUptime(readProcFile('/proc/uptime'));
  if (uptime === undefined) throw new SystemError(constants.errno.EIO, 'read', '/proc/uptime');
  return now - uptime * 1000;
}

/**
 * When a process started, in ms since the epoch, from its start ticks (time since boot, the same
 * clock as /proc/uptime). Precise to ~10 ms at the usual 100 Hz; compares with file times and Date.now()
 * as long as the wall clock was not stepped in between.
 */
export function startTimeOf(stat: ProcStat): number {
  return bootTime() + (stat.startTicks * 1000) / clockTicksPerSecond();
}

/** startTimeOf() as a Date. */
export const startDateOf = (stat: ProcStat): Date => new Date(startTimeOf(stat));
