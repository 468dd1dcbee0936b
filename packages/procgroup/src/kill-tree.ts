import { setTimeout as sleep } from 'node:timers/promises';
import { debuglog } from 'node:util';
import { childrenOf, processState, readProcFile, readProcStat, requireLinux, signalNumber, type SignalLike } from '@x/sys';
import { ProcGroupError } from './errors.js';
import { send } from './send.js';

const debug = debuglog('x:procgroup');
const SIGKILL = 9;
const SIGSTOP = 19;
const SIGCONT = 18;

function unsafe(pid: number, why: string): ProcGroupError {
  return new ProcGroupError('ERR_PROCGROUP_UNSAFE_PID', `refusing to kill the tree of ${pid}: ${why}`);
}

/** The `Tgid:` (thread group, i.e. process id) of the text of /proc/TID/status; undefined if absent. */
export function parseTgid(status: string): number | undefined {
  const match = /^Tgid:\s*(\d+)$/m.exec(status);
  return match ? Number(match[1]) : undefined;
}

/**
 * The process that thread `tid` belongs to (itself for a process id), from /proc/TID/status; undefined
 * when there is no such thread. /proc/TID exists for every thread although `ls /proc` lists only processes.
 */
function processOf(tid: number): number | undefined {
  let status: string;
  try {
    status = readProcFile(`/proc/${tid}/status`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw error;
  }
  return parseTgid(status);
}

/** Our own ancestors: killing the tree of one of them would kill us too. */
function ancestors(): Set<number> {
  const found = new Set<number>();
  for (let pid = process.ppid; pid > 1 && !found.has(pid); ) {
    found.add(pid);
    pid = readProcStat(pid)?.ppid ?? 0;
  }
  return found;
}

// Stopped, or past the point where it could fork (a zombie, gone).
const stoppedOrGone = (pid: number): boolean => processState(pid) !== 'running';

/**
 * Kills a process tree we did not start: `pid` and all its descendants, found in /proc (no `ps`). So
 * that nothing forked during the walk escapes, the tree is frozen top down first — each level gets
 * SIGSTOP and is seen stopped before its children are listed — then every frozen process gets `signal`,
 * and, unless that was SIGKILL, SIGCONT so it can act on it. If the walk fails midway, what it stopped
 * is resumed and the error thrown. A thread id stands for its process (kill(2) treats it so).
 * Resolves the pids signalled, [] when `pid` does not exist. Refuses (ERR_PROCGROUP_UNSAFE_PID) pid 0,
 * negative pids, pid 1, this process (or any of its threads) and its ancestors. Linux only.
 */
export async function killTree(pid: number, signal: SignalLike = 'SIGKILL'): Promise<number[]> {
  requireLinux('killTree');
  const number = signalNumber(signal);
  if (!Number.isInteger(pid) || pid <= 0) throw unsafe(pid, 'not a positive pid (0 and negative pids name groups)');
  const root = processOf(pid);
  if (root === undefined) return [];
  const which = root === pid ? '' : ` (a thread of process ${root})`;
  if (root === 1) throw unsafe(pid, `pid 1 is init${which}`);
  if (root === process.pid) throw unsafe(pid, `it is this process${which}`);
  const spared = ancestors();
  if (spared.has(root)) throw unsafe(pid, `it is an ancestor of this process${which}, whose tree includes us`);
  spared.add(process.pid);
  const rootState = processState(root);
  if (rootState === 'gone' || rootState === 'zombie') return [];

  // Children lists name processes, never threads; `spared` guards against ever stopping ourselves.
  const frozen: number[] = [];
  let stopping: number[] = [];
  try {
    let level = [root];
    while (level.length > 0) {
      stopping = level.filter((member) => !spared.has(member) && !frozen.includes(member) && send(member, SIGSTOP));
      // A stopped process cannot fork; wait for the whole level to stop (a process in uninterruptible
      // sleep stops when it wakes; give up waiting after a second and go on).
      for (let waited = 0; waited < 1000 && !stopping.every(stoppedOrGone); waited++) await sleep(1);
      const stopped = stopping;
      frozen.push(...stopped);
      stopping = [];
      level = stopped.flatMap((member) => childrenOf(member));
    }
  } catch (error) {
    const resumed = [...frozen, ...stopping];
    for (const member of resumed) send(member, SIGCONT);
    debug('killTree(%d) failed after stopping %d processes, resumed them: %s', pid, resumed.length, (error as Error).message);
    throw error;
  }
  for (const member of frozen) send(member, number);
  if (number !== SIGKILL) for (const member of frozen) send(member, SIGCONT);
  return frozen;
}
