import { readFileSync, readdirSync } from 'node:fs';
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

/** At most this many directories are searched below a mount whose root lies above our cgroup namespace. */
const SEARCH_LIMIT = 10_000;

/**
 * Finds this process's cgroup v2 directory from the text of /proc/self/mountinfo and /proc/self/cgroup,
 * or says why there is none. Every answer is checked against the directory's cgroup.procs, so a leaf is
 * never made in a cgroup this process is not in (for one, the host's root seen from a container).
 *
 * Both files name cgroups relative to our cgroup namespace. A mount's root of '/..' (a private cgroup
 * namespace that still sees the host's cgroup2 mount) lies above that namespace's root: the names in
 * between are unknown, so the directories that many levels down are searched for the one that lists us.
 */
export function locateOwnCgroup(mountinfo: string, cgroup: string): CgroupLocation | { reason: string } {
  const path = parseCgroupV2Path(cgroup);
  const mounts = parseMountInfo(mountinfo).filter((entry) => entry.fsType === 'cgroup2');
  if (mounts.length === 0 || path === undefined) return { reason: 'no cgroup v2 hierarchy is mounted (only cgroup v1)' };
  const reasons: string[] = [];
  // A later mount on the same point hides an earlier one: try the newest first.
  for (const mount of [...mounts].reverse()) {
    const found = resolve(mount, path);
    if ('directory' in found) return found;
    reasons.push(found.reason);
  }
  return { reason: reasons.join('; ') };
}

function resolve(mount: MountEntry, path: string): CgroupLocation | { reason: string } {
  const readOnly = mount.options.includes('ro');
  const segments = mount.root.split('/').filter((segment) => segment.length > 0);
  const above = segments.findIndex((segment) => segment !== '..');
  const ups = above < 0 ? segments.length : above;
  let candidates: string[];
  if (ups === 0) {
    const relative = posix.relative(mount.root, path);
    if (relative === '..' || relative.startsWith('../')) {
      return { reason: `the cgroup2 mount at ${mount.mountPoint} shows ${mount.root}, which does not contain this process's cgroup ${path}` };
    }
    candidates = [join(mount.mountPoint, relative)];
  } else if (ups === segments.length) {
    // join() would leave a trailing '/' for the namespace's own root.
    candidates = below(mount.mountPoint, ups).map((directory) => (path === '/' ? directory : join(directory, path)));
  } else {
    return { reason: `the cgroup2 mount at ${mount.mountPoint} shows ${mount.root}, outside this cgroup namespace; mount cgroup2 again inside it` };
  }
  const ours = candidates.filter(listsThisProcess);
  if (ours.length === 1) return { directory: ours[0] as string, mountPoint: mount.mountPoint, path, readOnly };
  return { reason: `this process's cgroup ${path} is not found under the cgroup2 mount at ${mount.mountPoint} (root ${mount.root})` };
}

/** Directories exactly `depth` levels below `directory`, at most SEARCH_LIMIT of them. */
function below(directory: string, depth: number): string[] {
  let level = [directory];
  for (let step = 0; step < depth && level.length > 0; step++) {
    level = level.flatMap((parent) => subdirectories(parent).map((name) => join(parent, name))).slice(0, SEARCH_LIMIT);
  }
  return level;
}

function subdirectories(directory: string): string[] {
  try {
    return readdirSync(directory, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

const listsThisProcess = (directory: string): boolean => {
  try {
    return readFileSync(join(directory, 'cgroup.procs'), 'latin1').split('\n').includes(String(process.pid));
  } catch {
    return false;
  }
};

/**
 * The cgroup v2 mount and this process's place in it, or undefined when no cgroup v2 hierarchy is
 * mounted (cgroup v1 only) or this process's cgroup cannot be found in it. Inside a private cgroup
 * namespace that still sees the host's mount, the directory is the one that lists this process, never
 * the host's root. Linux only.
 */
export function ownCgroup(): CgroupLocation | undefined {
  requireLinux('cgroup v2');
  const location = locateOwnCgroup(readFileSync('/proc/self/mountinfo', 'utf8'), readFileSync('/proc/self/cgroup', 'utf8'));
  return 'reason' in location ? undefined : location;
}
