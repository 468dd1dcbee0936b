import { setTimeout as sleep } from 'node:timers/promises';
import { childrenOf, readProcStat, requireLinux, signalNumber, type SignalLike } from '@x/sys';
import { ProcGroupError } from './errors.js';

const SIGKILL = 9;
const SIGSTOP = 19;
const SIGCONT = 18;

function unsafe(pid: number, why: string): ProcGroupError {
  return new ProcGroupError('ERR_PROCGROUP_UNSAFE_PID', `refusing to kill the tree of ${pid}: ${why}`);
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

function send(pid: number, signal: number): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

const stoppedOrGone = (pid: number): boolean => {
  const state = readProcStat(pid)?.state;
  return state === undefined || state === 'T' || state === 't' || state === 'Z' || state === 'X';
};

/**
 * Kills a process tree we did not start: `pid` and all its descendants, found in /proc (no `ps`). So
 * that nothing forked during the walk escapes, the tree is frozen top down first — each level gets
 * SIGSTOP and is seen stopped before its children are listed — then every frozen process gets `signal`,
 * and, unless that was SIGKILL, SIGCONT so it can act on it. Resolves the pids signalled, [] when `pid`
 * does not exist. Refuses (ERR_PROCGROUP_UNSAFE_PID) pid 0, negative pids, pid 1, this process and its
 * ancestors. Linux only.
 */
export async function killTree(pid: number, signal: SignalLike = 'SIGKILL'): Promise<number[]> {
  requireLinux('killTree');
  const number = signalNumber(signal);
  if (!Number.isInteger(pid) || pid <= 0) throw unsafe(pid, 'not a positive pid (0 and negative pids name groups)');
  if (pid === 1) throw unsafe(pid, 'pid 1 is init');
  if (pid === process.pid) throw unsafe(pid, 'it is this process');
  if (ancestors().has(pid)) throw unsafe(pid, 'it is an ancestor of this process, whose tree includes us');
  const root = readProcStat(pid);
  if (root === undefined || root.state === 'Z') return [];

  const frozen: number[] = [];
  let level = [pid];
  while (level.length > 0) {
    const stopping = level.filter((member) => !frozen.includes(member) && send(member, SIGSTOP));
    // A stopped process cannot fork; wait for the whole level to stop (a process in uninterruptible
    // sleep stops when it wakes; give up waiting after a second and go on).
    for (let waited = 0; waited < 1000 && !stopping.every(stoppedOrGone); waited++) await sleep(1);
    frozen.push(...stopping);
    level = stopping.flatMap((member) => childrenOf(member));
  }
  for (const member of frozen) send(member, number);
  if (number !== SIGKILL) for (const member of frozen) send(member, SIGCONT);
  return frozen;
}
