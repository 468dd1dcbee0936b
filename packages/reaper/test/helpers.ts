import { spawnSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { requirement, waitFor } from '@x/test-utils';

/** Covering /proc with an empty tmpfs inside a private mount namespace (root, unshare -m). */
export const mountNamespaces = requirement('private mount namespaces', () => {
  if (process.getuid?.() !== 0) return 'mounting in a mount namespace needs root';
  const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs x-probe /proc && test ! -e /proc/self'], {
    encoding: 'utf8',
    timeout: 5000,
  });
  if (probe.error) return `unshare cannot run: ${probe.error.message}`;
  return probe.status === 0 ? undefined : `cannot cover /proc: ${probe.stderr.trim()}`;
});

/** `unshare` arguments that run `command` with /proc covered by an empty tmpfs, as where none is mounted. */
export const withoutProc = (...command: string[]): string[] => [
  '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs x-no-proc /proc && exec "$@"', 'sh', ...command,
];

/** `unshare` arguments that run `command` as PID 1 of a new PID namespace that still sees the outer /proc. */
export const withForeignProc = (...command: string[]): string[] => ['-p', '-f', ...command];

/** Makes a fifo at `path`: a gate that a process blocks on (reading it) until the test opens it. */
export function makeFifo(path: string): void {
  const made = spawnSync('mkfifo', [path], { encoding: 'utf8', timeout: 5000 });
  if (made.status !== 0) throw new Error(`mkfifo ${path}: ${made.error?.message ?? (made.stderr.trim() || `exit ${made.status}`)}`);
}

/**
 * Opens the fifo `path` for writing and closes it at once, which ends its reader's read with EOF.
 * Waits (with a deadline) until a reader has it open: without one, a non-blocking open fails with ENXIO.
 */
export async function openGate(path: string, reader: string): Promise<void> {
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
  closeSync(fd);
}
