import { readdirSync } from 'node:fs';
import { requireLinux } from './platform.js';
import { isGone, readProcFile, readProcStat, type ProcStat } from './stat.js';

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
