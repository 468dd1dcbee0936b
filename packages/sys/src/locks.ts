import { readdirSync, statSync, type Stats } from 'node:fs';
import { parseMountInfo } from './cgroup.js';
import { readProcFile } from './proc.js';

/** One lock as the kernel prints it in /proc/locks and in the `lock:` lines of /proc/PID/fdinfo/FD. */
export interface LockEntry {
  /** FLOCK, POSIX, OFDLCK, LEASE, ... */
  readonly kind: string;
  /** ADVISORY or MANDATORY. */
  readonly mode: string;
  /** READ or WRITE. */
  readonly access: string;
  /**
   * The process that took the lock as this PID namespace sees it; 0 when that process is gone or not
   * visible here (a lock handed down to a child keeps the pid of the process that took it).
   */
  readonly pid: number;
  /** The device of the file system's superblock (not always `stat().dev`: btrfs and overlayfs differ). */
  readonly major: number;
  readonly minor: number;
  readonly inode: number;
}

/**
 * Parses lock lines: /proc/locks (`1: FLOCK  ADVISORY  WRITE 123 fe:00:456 0 EOF`) or fdinfo's
 * (`lock:\t1: FLOCK ...`). Waiters (`1: -> FLOCK ...`) hold nothing and are skipped.
 */
export function parseLockLines(text: string): LockEntry[] {
  const entries: LockEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.startsWith('lock:') ? raw.slice(5) : raw;
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8 || fields[1] === '->' || !/^\d+:$/.test(fields[0] ?? '')) continue;
    const [, kind, mode, access, pid, device] = fields as [string, string, string, string, string, string];
    const parts = device.split(':');
    if (parts.length !== 3 || !/^\d+$/.test(pid)) continue;
    const [major, minor, inode] = [parseInt(parts[0] ?? '', 16), parseInt(parts[1] ?? '', 16), Number(parts[2])];
    if (!Number.isInteger(major) || !Number.isInteger(minor) || !Number.isInteger(inode)) continue;
    entries.push({ kind, mode, access, pid: Number(pid), major, minor, inode });
  }
  return entries;
}

/** A file by identity, as fstat()/stat() give it. */
export interface FileIdentity {
  readonly dev: number | bigint;
  readonly ino: number | bigint;
}

const same = (a: FileIdentity, b: FileIdentity) => BigInt(a.dev) === BigInt(b.dev) && BigInt(a.ino) === BigInt(b.ino);

/**
 * Whether process `pid` holds an flock on `file` through one of its own open files: each fd of the
 * process that is this file (by device and inode, as stat() sees it, so any file system answers alike)
 * is asked for its locks in /proc/PID/fdinfo. Unlike /proc/locks this sees a lock that was handed down
 * from a process that has exited, and it works the same inside a PID namespace.
 *
 * Returns true or false, or undefined when the process's fds cannot be read (another user's process
 * without privilege, a hidden /proc, not Linux, or the process is gone).
 */
export function holdsFlock(pid: number, file: FileIdentity): boolean | undefined {
  if (process.platform !== 'linux' || !Number.isInteger(pid) || pid <= 0) return undefined;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    let stats: Stats | undefined;
    try {
      // stat() through the magic link reaches the open file itself, whatever name it has (or had).
      stats = statSync(`/proc/${pid}/fd/${fd}`, { throwIfNoEntry: false });
    } catch {
      // Listing is allowed but following is not (another user namespace, a protected process).
      return undefined;
    }
    if (stats === undefined || !same(stats, file)) continue;
    let info: string;
    try {
      info = readProcFile(`/proc/${pid}/fdinfo/${fd}`);
    } catch {
      // The fd was closed (or the process exited) since the listing: it holds nothing now.
      continue;
    }
    if (parseLockLines(info).some((entry) => entry.kind === 'FLOCK')) return true;
  }
  return false;
}

/** Splits Linux's dev_t the way the kernel's MAJOR()/MINOR() of the user ABI do. */
export function splitDevice(dev: number | bigint): { major: number; minor: number } {
  const value = BigInt(dev);
  const major = Number(((value >> 8n) & 0xfffn) | ((value >> 32n) & ~0xfffn));
  const minor = Number((value & 0xffn) | ((value >> 12n) & ~0xffn));
  return { major, minor };
}

/**
 * The device /proc/locks prints for the file open as `fd` in this process: that of the file system's
 * superblock, found through the fd's mount (fdinfo's mnt_id, then mountinfo). It differs from
 * `fstat().dev` on btrfs (each subvolume has its own) and overlayfs (stat reports the layer's).
 */
export function superblockDevice(fd: number): { major: number; minor: number } | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const mountId = /^mnt_id:\s*(\d+)$/m.exec(readProcFile(`/proc/self/fdinfo/${fd}`))?.[1];
    if (mountId === undefined) return undefined;
    const mount = parseMountInfo(readProcFile('/proc/self/mountinfo')).find((entry) => entry.id === Number(mountId));
    return mount === undefined ? undefined : { major: mount.major, minor: mount.minor };
  } catch {
    return undefined;
  }
}

/**
 * The flock locks /proc/locks lists for the file open as `fd` (matched by inode and by either device
 * number, so btrfs and overlayfs match too). Undefined where /proc/locks cannot be read. Inside a PID
 * namespace it lists only locks whose taker is alive and visible there: an empty answer never proves
 * that the file is unlocked.
 */
export function listedFlocks(fd: number, file: FileIdentity): LockEntry[] | undefined {
  if (process.platform !== 'linux') return undefined;
  let text: string;
  try {
    text = readProcFile('/proc/locks');
  } catch {
    return undefined;
  }
  const inode = Number(file.ino);
  const locks = parseLockLines(text).filter((entry) => entry.kind === 'FLOCK' && entry.inode === inode);
  if (locks.length === 0) return locks;
  const devices = [splitDevice(file.dev), superblockDevice(fd)];
  return locks.filter((entry) => devices.some((device) => device?.major === entry.major && device.minor === entry.minor));
}
