import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownCgroup } from '@x/sys';
import { ProcGroupError } from './errors.js';

let counter = 0;

/** Where new cgroup leaves go, or why there is no such place. Probed once per process. */
let probed: { parent: string } | { reason: string } | undefined;

function probe(): { parent: string } | { reason: string } {
  if (process.platform !== 'linux') return { reason: `cgroups are Linux only (this is ${process.platform})` };
  const location = ownCgroup();
  if (location === undefined) return { reason: 'no cgroup v2 hierarchy is mounted (only cgroup v1)' };
  if (location.readOnly) return { reason: `the cgroup v2 hierarchy at ${location.mountPoint} is mounted read-only` };
  const test = join(location.directory, `x-procgroup-probe-${process.pid}`);
  try {
    mkdirSync(test);
  } catch (error) {
    return { reason: `cannot create a cgroup under ${location.directory} (${(error as NodeJS.ErrnoException).code ?? 'error'}); it must be delegated to this user` };
  }
  try {
    if (!existsSync(join(test, 'cgroup.kill'))) return { reason: 'this kernel has no cgroup.kill (Linux >= 5.14 needed)' };
  } finally {
    rmdirSync(test);
  }
  return { parent: location.directory };
}

/** Undefined when cgroup containment is available here, else why not. */
export function cgroupUnavailable(): string | undefined {
  probed ??= probe();
  return 'reason' in probed ? probed.reason : undefined;
}

/** A fresh cgroup v2 leaf of our own, with cgroup.kill. */
export class CgroupLeaf {
  readonly directory: string;

  constructor() {
    probed ??= probe();
    if ('reason' in probed) throw new ProcGroupError('ERR_PROCGROUP_NO_CGROUP', `containment 'cgroup' is not available: ${probed.reason}; use 'group' or 'auto'`);
    this.directory = join(probed.parent, `x-procgroup-${process.pid}-${++counter}`);
    try {
      mkdirSync(this.directory);
    } catch (error) {
      throw new ProcGroupError('ERR_PROCGROUP_NO_CGROUP', `cannot create the cgroup ${this.directory}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Pids of the live processes in the leaf (zombies have already left it). */
  members(): number[] {
    try {
      return readFileSync(join(this.directory, 'cgroup.procs'), 'latin1')
        .split('\n')
        .filter((line) => line.length > 0)
        .map(Number);
    } catch {
      return [];
    }
  }

  /** Whether any live process is in the leaf, from cgroup.events. */
  populated(): boolean {
    try {
      return /^populated 1$/m.test(readFileSync(join(this.directory, 'cgroup.events'), 'latin1'));
    } catch {
      return false;
    }
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
}

/** Writes cgroup.kill of a cgroup directory: SIGKILL to everything in it. A missing cgroup is fine. */
export function killCgroup(directory: string): void {
  try {
    writeFileSync(join(directory, 'cgroup.kill'), '1');
  } catch {
    // Already removed: nothing left to kill.
  }
}
