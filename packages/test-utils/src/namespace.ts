import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface Requirement {
  readonly ok: boolean;
  readonly reason: string;
}

/**
 * A test precondition. Where it is unmet the tests skip, with `reason` in their name; on CI (root,
 * Linux, CI=true) an unmet requirement is an error instead, because nothing may skip there.
 */
export function requirement(what: string, check: () => string | undefined): Requirement {
  // Probed on first use, not at import: importing @x/test-utils must not spawn unshare and friends.
  let missing: { value: string | undefined } | undefined;
  const probe = (): string | undefined => {
    if (missing === undefined) {
      missing = { value: process.platform === 'linux' ? check() : `${what} needs Linux` };
      if (missing.value !== undefined && process.env.CI === 'true') {
        throw new Error(`CI must be able to run tests that need ${what}, but: ${missing.value}`);
      }
    }
    return missing.value;
  };
  return {
    get ok() {
      return probe() === undefined;
    },
    get reason() {
      const value = probe();
      return value === undefined ? what : `skipped: ${value}`;
    },
  };
}

export const isRoot = requirement('root', () =>
  process.getuid?.() === 0 ? undefined : 'not running as root',
);

/** Running a command as PID 1 of a fresh PID namespace. */
export const pidNamespaces = requirement('PID namespaces', () => {
  if (process.getuid?.() !== 0) return 'creating PID namespaces needs root';
  const probe = spawnSync('unshare', ['-p', '-f', '--mount-proc', 'sh', '-c', 'echo $$'], { encoding: 'utf8', timeout: 5000 });
  if (probe.error) return `unshare cannot run: ${probe.error.message}`;
  return probe.stdout.trim() === '1' ? undefined : `unshare failed: ${probe.stderr.trim()}`;
});

/** Spawns `command` as PID 1 of a fresh PID namespace with its own /proc (`unshare -p -f --mount-proc`). */
export function spawnInPidNamespace(command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
  return spawn('unshare', ['-p', '-f', '--mount-proc', '--kill-child', command, ...args], options);
}
