import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { libc } from './libc.js';
import { requireLinux } from './platform.js';
import { SystemError } from './errors.js';

/** One process as /proc/PID/stat describes it. */
export interface ProcStat {
  readonly pid: number;
  /** The command name (at most 15 bytes; may contain spaces and parentheses). */
  readonly comm: string;
  /** One letter: R running, S sleeping, D disk sleep, Z zombie, T stopped, t traced, X dead, I idle. */
  readonly state: string;
  readonly ppid: number;
  readonly pgid: number;
  readonly sid: number;
  /** Controlling terminal device number; 0 when the process has none. */
  readonly ttyNr: number;
  /** Start time in clock ticks after boot. */
  readonly startTicks: number;
}

/**
 * Parses the text of /proc/PID/stat. The command name sits in parentheses and may itself contain
 * spaces and ')', so the fields are counted from the last ')'. Returns undefined for malformed text.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open <= 0 || close < open || text.charCodeAt(close + 1) !== 32) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // After ") ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice num_threads itrealvalue starttime ... (starttime is field 22 overall).
  // Walk the spaces instead of splitting all ~50 fields: this runs for every process in a /proc scan.
  const fields: number[] = [];
  let start = close + 2;
  for (let index = 0; index < 20; index++) {
    const end = text.indexOf(' ', start);
    if (end < 0) return undefined;
    fields.push(index === 0 ? (end - start === 1 ? 0 : Number.NaN) : Number(text.slice(start, end)));
    start = end + 1;
  }
  const state = text.charAt(close + 2);
  const [, ppid, pgid, sid, ttyNr] = fields as [number, number, number, number, number];
  const startTicks = fields[19] as number;
  if (!Number.isInteger(pid) || pid <= 0 || [fields[0], ppid, pgid, sid, ttyNr, startTicks].some((n) => !Number.isInteger(n))) {
    return undefined;
  }
  return { pid, comm: text.slice(open + 1, close), state, ppid, pgid, sid, ttyNr, startTicks };
}

let scratch = Buffer.alloc(4096);

/**
 * Reads a small /proc file with open + read + close into a reused buffer: several times faster than
 * readFileSync, which stats the file and grows its buffer for files that report size 0.
 */
export function readProcFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let length = 0;
    for (;;) {
      const read = readSync(fd, scratch, length, scratch.length - length, null);
      if (read === 0) break;
      length += read;
      if (length === scratch.length) {
        const bigger = Buffer.alloc(scratch.length * 2);
        scratch.copy(bigger);
        scratch = bigger;
      }
    }
    return scratch.toString('latin1', 0, length);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads /proc/PID/stat. Returns undefined when the process does not exist (any more). Linux only.
 * A zombie still has a stat file (state 'Z') until it is reaped.
 */
export function readProcStat(pid: number): ProcStat | undefined {
  requireLinux('/proc');
  let text: string;
  try {
    text = readProcFile(`/proc/${pid}/stat`);
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
  return parseProcStat(text);
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  // ESRCH: the process exited between open and read.
  return code === 'ENOENT' || code === 'ESRCH';
}

/** Parses the space-separated pid list of /proc/PID/task/TID/children. */
export function parseChildrenList(text: string): number[] {
  return text
    .split(' ')
    .filter((token) => token.length > 0)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

/**
 * The pids of the live children of `pid` (zombies included until reaped), in kernel order.
 * Reads /proc/PID/task/{@literal *}/children, falling back to scanning every /proc/N/stat for the ppid
 * where the kernel lacks CONFIG_PROC_CHILDREN. Returns [] when the process does not exist. Linux only.
 */
export function childrenOf(pid: number): number[] {
  requireLinux('/proc');
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch (error) {
    if (isGone(error)) return [];
    throw error;
  }
  const found: number[] = [];
  for (const tid of tasks) {
    let text: string;
    try {
      text = readProcFile(`/proc/${pid}/task/${tid}/children`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !hasChildrenLists()) return scanChildren(pid);
      if (isGone(error)) continue;
      throw error;
    }
    for (const child of parseChildrenList(text)) if (!found.includes(child)) found.push(child);
  }
  return found;
}

let childrenLists: boolean | undefined;

/** Whether this kernel publishes /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN). */
export function hasChildrenLists(): boolean {
  if (childrenLists === undefined) {
    try {
      readProcFile(`/proc/self/task/${process.pid}/children`);
      childrenLists = true;
    } catch {
      childrenLists = false;
    }
  }
  return childrenLists;
}

/** Every process on the machine (in our PID namespace) with its stat. Linux only. */
export function listProcesses(): ProcStat[] {
  requireLinux('/proc');
  const all: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    const code = name.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    const stat = readProcStat(Number(name));
    if (stat) all.push(stat);
  }
  return all;
}

function scanChildren(pid: number): number[] {
  return listProcesses()
    .filter((stat) => stat.ppid === pid)
    .map((stat) => stat.pid);
}

/**
 * All descendants of `pid` (children first, then their children), from /proc. A snapshot: processes
 * can fork or exit while it is taken. Linux only.
 */
export function descendantsOf(pid: number): number[] {
  const result: number[] = [];
  const queue = childrenOf(pid);
  while (queue.length > 0) {
    const next = queue.shift() as number;
    if (result.includes(next)) continue;
    result.push(next);
    queue.push(...childrenOf(next));
  }
  return result;
}

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
  if (uptime === undefined) throw new SystemError(5, 'read', '/proc/uptime');
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
