import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { requireLinux } from './platform.js';

export interface MountEntry {
  /** The mount's id (fdinfo's mnt_id names it). */
  readonly id: number;
  /** The device of the mounted file system's superblock, as /proc/locks prints it. */
  readonly major: number;
  readonly minor: number;
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly options: readonly string[];
}

// mountinfo escapes space, tab, newline and backslash as octal.
const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** Parses /proc/PID/mountinfo lines (the fields after the ' - ' separator start with the fs type). */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const separator = line.indexOf(' - ');
    if (separator < 0) continue;
    const before = line.slice(0, separator).split(' ');
    const after = line.slice(separator + 3).split(' ');
    const [id, device, root, mountPoint, options] = [before[0], before[2], before[3], before[4], before[5]];
    const fsType = after[0];
    if (id === undefined || device === undefined || root === undefined || mountPoint === undefined || options === undefined || fsType === undefined) continue;
    const [major, minor] = device.split(':').map(Number);
    entries.push({ id: Number(id), major: major ?? NaN, minor: minor ?? NaN, root: unescape(root), mountPoint: unescape(mountPoint), fsType, options: options.split(',') });
  }
  return entries;
}

/** Parses /proc/PID/cgroup and returns the unified (v2) hierarchy's path, the `0::` line. */
export function parseCgroupV2Path(text: string): string | undefined {
  const line = text.split('\n').find((entry) => entry.startsWith('0::'));
  return line === undefined ? undefined : line.slice(3);
}

export interface CgroupLocation {
  /** Where the cgroup v2 hierarchy is mounted (found in /proc/self/mountinfo, never assumed). */
  readonly mountPoint: string;
  /** This process's cgroup as the kernel names it (relative to the hierarchy's root). */
  readonly path: string;
  /** The directory of this process's cgroup. */
  readonly directory: string;
  /** Whether the hierarchy is mounted read-only. */
  readonly readOnly: boolean;
}

/**
 * The cgroup v2 mount and this process's place in it, or undefined when no cgroup v2 hierarchy is
 * mounted (cgroup v1 only) or this process is not visible in it. Linux only.
 */
export function ownCgroup(): CgroupLocation | undefined {
  requireLinux('cgroup v2');
  const mount = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')).find((entry) => entry.fsType === 'cgroup2');
  const path = parseCgroupV2Path(readFileSync('/proc/self/cgroup', 'utf8'));
  if (mount === undefined || path === undefined) return undefined;
  // A bind mount of a subtree (containers) has a root other than '/': our path is relative to it.
  const relative = posix.relative(mount.root, path);
  if (relative.startsWith('..')) return undefined;
  return {
    mountPoint: mount.mountPoint,
    path,
    directory: join(mount.mountPoint, relative),
    readOnly: mount.options.includes('ro'),
  };
}
