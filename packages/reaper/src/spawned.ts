import { ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { readProcFile } from '@x/sys';
import { ReaperError } from './errors.js';

// Which children of the main thread did Node's child_process start? Those belong to libuv, which waits
// for them itself; taking their status would swallow their 'exit' event. Worker threads need no list:
// a child is listed under the thread that forked it (/proc/PID/task/TID/children), and orphans are
// adopted by the main thread, so only the main thread's list is ever looked at.

const spawned = new Set<number>();
let installed = false;

const MOUNT_PROC = 'mount a /proc for this PID namespace (unshare --mount-proc, or mount -t proc proc /proc)';

/**
 * The children of the main thread right now. Throws ReaperError (`ERR_REAPER_CHILDREN_LIST`) when the
 * list cannot be read: an empty list would be a lie that makes callers stop waiting or reap nothing.
 */
export function mainThreadChildren(): number[] {
  if (process.platform !== 'linux') return [];
  // A /proc mounted for another PID namespace (unshare -p without --mount-proc) names other processes
  // by our pid numbers: its lists would be read without error, and be someone else's.
  let self: string;
  try {
    self = readlinkSync('/proc/self');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ReaperError('ERR_REAPER_CHILDREN_LIST', `cannot read the children list: /proc/self is unreadable (${code}); ${MOUNT_PROC}`, { cause: error });
  }
  if (self !== String(process.pid)) {
    throw new ReaperError(
      'ERR_REAPER_CHILDREN_LIST',
      `cannot read the children list: /proc belongs to another PID namespace (it calls this process ${self}, not ${process.pid}); ${MOUNT_PROC}`,
    );
  }
  const path = `/proc/${process.pid}/task/${process.pid}/children`;
  let text: string;
  try {
    text = readProcFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    const hint = code === 'ENOENT' ? 'this kernel may lack CONFIG_PROC_CHILDREN' : MOUNT_PROC;
    throw new ReaperError('ERR_REAPER_CHILDREN_LIST', `cannot read the children list ${path} (${code}); ${hint}`, { cause: error });
  }
  const pids: number[] = [];
  for (const token of text.split(' ')) if (token.length > 0) pids.push(Number(token));
  return pids;
}

/**
 * Starts tracking the pids that child_process starts on the main thread, by wrapping
 * ChildProcess.prototype.spawn (every spawn, exec and fork goes through it). `existing`, the children
 * there are now, are counted as Node's: they are never reaped, whatever they are.
 */
export function trackSpawns(existing: readonly number[]): void {
  if (installed) return;
  installed = true;
  for (const pid of existing) spawned.add(pid);
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
