import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { cgroupKillSupport } from '@x/sys';
import { ProcGroupError } from './errors.js';

const debug = debuglog('x:procgroup');

let counter = 0;

/** Undefined when cgroup containment is available here, else why not (probed once per process, by @x/sys). */
export function cgroupUnavailable(): string | undefined {
  const support = cgroupKillSupport();
  return 'reason' in support ? support.reason : undefined;
}

function unreadable(file: string, error: unknown): ProcGroupError {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  debug('cannot read %s: %s', file, code);
  return new ProcGroupError('ERR_PROCGROUP_CGROUP_UNREADABLE', `cannot read ${file} (${code}), so whether the group still has members is unknown; nothing was assumed gone — try again`, {
    cause: error,
  });
}

/** A fresh cgroup v2 leaf of our own, with cgroup.kill. */
export class CgroupLeaf {
  readonly directory: string;

  constructor() {
    const support = cgroupKillSupport();
    if ('reason' in support) throw new ProcGroupError('ERR_PROCGROUP_NO_CGROUP', `containment 'cgroup' is not available: ${support.reason}; use 'group' or 'auto'`);
    this.directory = join(support.directory, `x-procgroup-${process.pid}-${++counter}`);
    try {
      mkdirSync(this.directory);
    } catch (error) {
      throw new ProcGroupError('ERR_PROCGROUP_NO_CGROUP', `cannot create the cgroup ${this.directory}: ${(error as Error).message}`, { cause: error });
    }
    debug('made the cgroup %s', this.directory);
  }

  /**
   * Moves `pid` into the leaf (from this, the privileged side: the process itself may have dropped its
   * rights). Off the main thread: a move can wait for an RCU grace period, milliseconds on a busy machine.
   */
  adopt(pid: number): Promise<void> {
    return writeFile(join(this.directory, 'cgroup.procs'), String(pid));
  }

  /**
   * Pids of the live processes in the leaf (zombies have already left it); [] once the leaf is removed.
   * Throws ERR_PROCGROUP_CGROUP_UNREADABLE when the list cannot be read: unknown is not empty.
   */
  members(): number[] {
    const file = join(this.directory, 'cgroup.procs');
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch (error) {
      // A populated cgroup cannot be removed: a leaf that no longer exists was empty.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw unreadable(file, error);
    }
    return text
      .split('\n')
      .filter((line) => line.length > 0)
      .map(Number);
  }

  /** Whether any live process is in the leaf, from cgroup.events; throws ERR_PROCGROUP_CGROUP_UNREADABLE as members() does. */
  populated(): boolean {
    const file = join(this.directory, 'cgroup.events');
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw unreadable(file, error);
    }
    return /^populated 1$/m.test(text);
  }

  /** SIGKILL to every process in the leaf, escaped ones included, in one write. */
  kill(): void {
    killCgroup(this.directory);
  }

  /** Removes the leaf; false while processes are still in it. */
  remove(): boolean {
    try {
      rmdirSync(this.directory);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT';
    }
  }

  /** Removes the leaf, retrying in the background (unref'd) while the last members' exit is still being accounted (EBUSY). */
  removeSoon(): void {
    const attempt = (tries: number) => {
      if (this.remove()) return;
      if (tries >= 100) {
        debug('cgroup %s is still busy after 2 s; left in place', this.directory);
        return;
      }
      setTimeout(() => {
        attempt(tries + 1);
      }, 20).unref();
    };
    attempt(0);
  }
}

/**
 * Writes cgroup.kill of a cgroup directory: SIGKILL to everything in it. A cgroup that no longer exists
 * had nothing left to kill; any other failure throws (processes may have survived).
 */
export function killCgroup(directory: string): void {
  try {
    writeFileSync(join(directory, 'cgroup.kill'), '1');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    debug('cannot write %s/cgroup.kill: %s', directory, (error as Error).message);
    throw error;
  }
}
