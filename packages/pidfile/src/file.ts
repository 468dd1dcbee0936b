import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { MAX_CONTENT } from './content.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_CLOEXEC = 0 } = constants as typeof constants & { O_CLOEXEC?: number };

/** Reads at most MAX_CONTENT + 1 bytes of an open file from offset 0 (enough to tell a PID file from junk). */
export function readHead(fd: number): string {
  const buffer = Buffer.alloc(MAX_CONTENT + 1);
  let length = 0;
  while (length < buffer.length) {
    const read = readSync(fd, buffer, length, buffer.length - length, length);
    if (read === 0) break;
    length += read;
  }
  return buffer.toString('latin1', 0, length);
}

/** Opens an existing file for reading without following a symlink or blocking on a FIFO. */
export const openForReading = (path: string): number => openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

/** Whether `path` names the file with this device and inode, without following links. */
export function names(path: string, identity: { dev: number; ino: number }): boolean {
  let current: Stats;
  try {
    current = lstatSync(path);
  } catch {
    return false;
  }
  return current.ino === identity.ino && current.dev === identity.dev;
}

/** Whether `path` still names the file open as `fd`. */
export const stillNamed = (path: string, fd: number): boolean => names(path, fstatSync(fd));

/** Closes an fd, ignoring errors: used on paths that already failed. */
export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    closeSync(fd);
  } catch {
    // Nothing useful to do about a failed close on an error path.
  }
}
