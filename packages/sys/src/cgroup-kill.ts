import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { locateOwnCgroup } from './cgroup.js';

/** Where cgroup v2 leaves with cgroup.kill can be made (this process's own cgroup), or why not. */
export type CgroupKillSupport = { readonly directory: string; readonly mountPoint: string } | { readonly reason: string };

let probed: CgroupKillSupport | undefined;

/**
 * Whether this process can make cgroup v2 leaves that have cgroup.kill: finds its own cgroup through
 * /proc/self/mountinfo, then creates and removes a probe leaf in it. Probed once per process; the
 * answer names the directory new leaves go in, or says why there is none. Never throws.
 */
export function cgroupKillSupport(): CgroupKillSupport {
  probed ??= probe();
  return probed;
}

function probe(): CgroupKillSupport {
  if (process.platform !== 'linux') return { reason: `cgroups are Linux only (this is ${process.platform})` };
  let location;
  try {
    location = locateOwnCgroup(readFileSync('/proc/self/mountinfo', 'utf8'), readFileSync('/proc/self/cgroup', 'utf8'));
  } catch (error) {
    return { reason: `cannot read /proc/self/cgroup or mountinfo: ${(error as Error).message}` };
  }
  if ('reason' in location) return location;
  if (location.readOnly) return { reason: `the cgroup v2 hierarchy at ${location.mountPoint} is mounted read-only` };
  const leaf = join(location.directory, `x-probe-${process.pid}`);
  try {
    mkdirSync(leaf);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return { reason: `cannot create a cgroup under ${location.directory} (${code}); it must be delegated to this user` };
  }
  try {
    if (!existsSync(join(leaf, 'cgroup.kill'))) return { reason: 'this kernel has no cgroup.kill (Linux >= 5.14 needed)' };
  } finally {
    rmdirSync(leaf);
  }
  return { directory: location.directory, mountPoint: location.mountPoint };
}
