import { ChildProcess } from 'node:child_process';
import { readProcFile } from '@x/sys';

// Which children of the main thread did Node's child_process start? Those belong to libuv, which waits
// for them itself; taking their status would swallow their 'exit' event. Worker threads need no list:
// a child is listed under the thread that forked it (/proc/PID/task/TID/children), and orphans are
// adopted by the main thread, so only the main thread's list is ever looked at.

const spawned = new Set<number>();
let installed = false;

/** The children of the main thread right now. */
export function mainThreadChildren(): number[] {
  if (process.platform !== 'linux') return [];
  let text: string;
  try {
    text = readProcFile(`/proc/${process.pid}/task/${process.pid}/children`);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const token of text.split(' ')) if (token.length > 0) pids.push(Number(token));
  return pids;
}

/**
 * Starts tracking the pids that child_process starts on the main thread, by wrapping
 * ChildProcess.prototype.spawn (every spawn, exec and fork goes through it). Children that already
 * exist are counted as Node's: they are never reaped, whatever they are.
 */
export function trackSpawns(): void {
  if (installed) return;
  installed = true;
  for (const pid of mainThreadChildren()) spawned.add(pid);
  const prototype = ChildProcess.prototype as ChildProcess & { spawn: (...args: unknown[]) => unknown };
  const original = prototype.spawn;
  prototype.spawn = function spawn(this: ChildProcess, ...args: unknown[]) {
    const result = original.apply(this, args);
    const pid = this.pid;
    if (pid !== undefined) {
      spawned.add(pid);
      // Once libuv has collected it, the pid may be reused by an orphan we must reap.
      this.once('exit', () => spawned.delete(pid));
    }
    return result;
  };
}

/** Whether `pid` was started by child_process on the main thread (and not yet collected by it). */
export const spawnedByNode = (pid: number): boolean => spawned.has(pid);
