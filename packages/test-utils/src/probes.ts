import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

// Deliberately independent of @x/sys: tests check what the kernel says with code that is not under test.

interface Stat {
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
}

function stat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', ppid: Number(fields[1]), pgid: Number(fields[2]), sid: Number(fields[3]) };
}

/** The one-letter /proc state of `pid` ('S', 'R', 'Z', ...), or undefined when it does not exist. */
export const stateOf = (pid: number): string | undefined => stat(pid)?.state;

/** True when `pid` exists and is not a zombie. */
export const isAlive = (pid: number): boolean => {
  const state = stateOf(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
};

/** True when `pid` is a zombie (exited, not yet reaped by its parent). */
export const isZombie = (pid: number): boolean => stateOf(pid) === 'Z';

/** True when kill(pid, 0) finds the pid (zombies included: the kernel still holds their slot). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const parentOf = (pid: number): number | undefined => stat(pid)?.ppid;
export const groupOf = (pid: number): number | undefined => stat(pid)?.pgid;
export const sessionOf = (pid: number): number | undefined => stat(pid)?.sid;

/** Every pid in /proc with its parent, from a full scan (does not rely on children lists). */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const found = stat(Number(name));
    if (found) map.set(Number(name), found.ppid);
  }
  return map;
}

/** All descendants of `pid` (zombies included), from a full /proc scan. */
export function descendantsOf(pid: number): number[] {
  const table = parents();
  const result: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift() as number;
    for (const [child, parent] of table) {
      if (parent === current && !result.includes(child)) {
        result.push(child);
        queue.push(child);
      }
    }
  }
  return result;
}

/** Pids currently in process group `pgid` (zombies included). */
export function membersOfGroup(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (/^\d+$/.test(name) && stat(Number(name))?.pgid === pgid) members.push(Number(name));
  }
  return members;
}

/**
 * Whether flock(1) could take the lock on `file` right now (the kernel's view of who holds it). `file` is
 * a path, or a descriptor this process holds open — which still reaches a file that was unlinked since;
 * the probe then unlocks again, so the descriptor holds no lock after it.
 */
export function flockFree(file: string | number): boolean {
  if (typeof file === 'string') return spawnSync('flock', ['-n', file, 'true']).status === 0;
  return spawnSync('sh', ['-c', 'flock -n 3 && flock -u 3'], { stdio: ['ignore', 'ignore', 'ignore', file] }).status === 0;
}
