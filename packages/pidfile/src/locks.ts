import { readFileSync } from 'node:fs';

/** One lock line of /proc/locks. */
export interface LockEntry {
  readonly kind: string;
  readonly mode: string;
  readonly access: string;
  /** The process that took the lock (stays that pid when the lock is inherited by a child). */
  readonly pid: number;
  readonly major: number;
  readonly minor: number;
  readonly inode: number;
}

/** Parses /proc/locks, skipping the waiters ("->" lines) that do not hold a lock. */
export function parseProcLocks(text: string): LockEntry[] {
  const entries: LockEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8 || fields[1] === '->') continue;
    const [, kind, mode, access, pid, device] = fields as [string, string, string, string, string, string];
    const parts = device.split(':');
    if (parts.length !== 3) continue;
    entries.push({
      kind,
      mode,
      access,
      pid: Number(pid),
      major: parseInt(parts[0] ?? '', 16),
      minor: parseInt(parts[1] ?? '', 16),
      inode: Number(parts[2]),
    });
  }
  return entries;
}

/** Splits Linux's dev_t the way the kernel's MAJOR()/MINOR() of the user ABI do. */
export function splitDevice(dev: number | bigint): { major: number; minor: number } {
  const value = BigInt(dev);
  const major = Number(((value >> 8n) & 0xfffn) | ((value >> 32n) & ~0xfffn));
  const minor = Number((value & 0xffn) | ((value >> 12n) & ~0xffn));
  return { major, minor };
}

/**
 * The flock locks held on a file, from /proc/locks, without touching the file: looking must never
 * make a concurrent acquire fail. Returns undefined where /proc/locks does not exist (not Linux).
 */
export function flockHolders(dev: number | bigint, inode: number | bigint): LockEntry[] | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/locks', 'latin1');
  } catch {
    return undefined;
  }
  const { major, minor } = splitDevice(dev);
  const wanted = Number(inode);
  return parseProcLocks(text).filter(
    (entry) => entry.kind === 'FLOCK' && entry.major === major && entry.minor === minor && entry.inode === wanted,
  );
}
