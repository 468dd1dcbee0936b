import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { waitFor } from './wait-for.js';

/** Makes a fifo at `path`: a gate that a process blocks on (reading it) until the test opens it. */
export function makeFifo(path: string): void {
  const made = spawnSync('mkfifo', [path], { encoding: 'utf8', timeout: 5000 });
  if (made.status !== 0) throw new Error(`mkfifo ${path}: ${made.error?.message ?? (made.stderr.trim() || `exit ${made.status}`)}`);
}

/**
 * Opens the fifo `path` for writing, writes `line` (if any) and closes it, which ends its reader's read.
 * Waits (with a deadline) until a reader has it open: without one, a non-blocking open fails with ENXIO.
 * `reader` names who should be reading, for the timeout's message.
 */
export async function openGate(path: string, reader: string, line?: string): Promise<void> {
  const { fd } = await waitFor(
    () => {
      try {
        // An object, not the bare fd: fd 0 would read as "not yet".
        return { fd: openSync(path, constants.O_WRONLY | constants.O_NONBLOCK) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENXIO') return undefined;
        throw error;
      }
    },
    { timeout: 10_000, message: `${reader} to open the fifo ${path}` },
  );
  try {
    if (line !== undefined) writeSync(fd, `${line}\n`);
  } finally {
    closeSync(fd);
  }
}
