import { spawnSync } from 'node:child_process';
import { requirement } from '@x/test-utils';

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
