import { closeSync, openSync, readSync } from 'node:fs';
import { requireLinux } from './platform.js';

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

/** Whether a failed /proc read means that the process no longer exists. */
export function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  // ESRCH: the process exited between open and read.
  return code === 'ENOENT' || code === 'ESRCH';
}

export type ProcessState = 'running' | 'stopped' | 'zombie' | 'gone';

/**
 * What the kernel says about `pid` now: from /proc/PID/stat on Linux, from kill(pid, 0) elsewhere
 * (which cannot tell a zombie or a stopped process from a running one: both say 'running' there).
 * Never throws for a missing process; throws RangeError for a pid that is not a positive integer, since
 * kill(0 or less, 0) would ask about a whole process group.
 */
export function processState(pid: number): ProcessState {
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`processState needs a positive integer pid, got ${pid}`);
  if (process.platform !== 'linux') {
    try {
      process.kill(pid, 0);
      return 'running';
    } catch (error) {
      // EPERM: it exists, but belongs to someone we may not signal.
      return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'running' : 'gone';
    }
  }
  const stat = readProcStat(pid);
  if (stat === undefined) return 'gone';
  if (stat.state === 'Z' || stat.state === 'X') return 'zombie';
  if (stat.state === 'T' || stat.state === 't') return 'stopped';
  return 'running';
}
