import { closeSync, constants, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY } = constants;

/**
 * What `x-daemon start` knows about the daemon behind a PID file, kept beside it (`<pidfile>.x-daemon`)
 * because the PID file itself holds only the pid, as systemd and start-stop-daemon read it.
 * `stop` signals a process group only when this record proves it is the daemon's.
 */
export interface DaemonRecord {
  readonly state: 'starting' | 'running';
  /** The `x-daemon start` process while it starts, with its start ticks. */
  readonly caller: number;
  readonly callerStart: number;
  /** The command (the daemon), its start ticks, and the session / process group it runs in. */
  readonly pid?: number;
  readonly pidStart?: number;
  readonly session?: number;
  /** /proc/sys/kernel/random/boot_id: start ticks count from this boot only. */
  readonly boot: string;
}

export const recordPath = (pidFile: string) => `${pidFile}.x-daemon`;

let boot: string | undefined;
export function bootId(): string {
  if (boot === undefined) {
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
    } catch {
      boot = '';
    }
  }
  return boot;
}

const isCount = (value: unknown) => Number.isInteger(value) && (value as number) >= 0;

/** The record beside `pidFile`, if there is a valid one from this boot (never through a symlink). */
export function readRecord(pidFile: string): DaemonRecord | undefined {
  let text: string;
  try {
    const fd = openSync(recordPath(pidFile), O_RDONLY | O_NOFOLLOW);
    try {
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const record = parsed as Partial<Record<keyof DaemonRecord, unknown>> as DaemonRecord;
  if (!['starting', 'running'].includes(record.state)) return undefined;
  if (!isCount(record.caller) || !isCount(record.callerStart) || record.boot !== bootId()) return undefined;
  if (record.pid !== undefined && !(isCount(record.pid) && isCount(record.pidStart) && isCount(record.session) && (record.pid ?? 0) > 0)) return undefined;
  return record;
}

/** Replaces the record atomically (a new file renamed over the old one; no symlink is followed). */
export function writeRecord(pidFile: string, record: DaemonRecord): void {
  const path = recordPath(pidFile);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  // Left by a writer of the same pid that crashed (a pid of an earlier boot).
  removeQuietly(temporary);
  const fd = openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
  try {
    writeSync(fd, JSON.stringify(record));
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temporary, path);
  } catch (error) {
    unlinkSync(temporary);
    throw error;
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Not there.
  }
}

export function removeRecord(pidFile: string): void {
  removeQuietly(recordPath(pidFile));
}
