import { spawnSync, type SpawnOptions } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startFixture, type Fixture } from './fixtures.js';
import { requirement } from './namespace.js';

/**
 * Runs Node programs as if on another platform, to test the packages' OWN platform branches: the
 * process reports `process.platform` as 'darwin' or 'win32', its C library lacks the Linux-only
 * symbols (prctl, pipe2, syscall ...), and optionally /proc is hidden (an empty tmpfs over it, in a
 * private mount namespace). This proves what the packages do when they believe they are on macOS or
 * Windows — typed refusals, no /proc reads, no runaways — not that they work on macOS or Windows: the
 * kernel underneath is still Linux's.
 */
export interface Simulation {
  /** The platform the process reports. */
  readonly platform: 'darwin' | 'win32' | 'linux';
  /** C library names that load (each gives the real one); default: the platform's own, libSystem for darwin. */
  readonly libraries?: readonly string[];
  /** Cover /proc with an empty tmpfs (needs root and mount namespaces). Default true. */
  readonly hideProc?: boolean;
  /** Print every C library name the process tries to load to stderr (`x-sim: load NAME`). */
  readonly trace?: boolean;
}

const preload = fileURLToPath(new URL('../preload/simulate-platform.mjs', import.meta.url));
// koffi is @x/sys's dependency; the simulation patches that very copy.
const koffi = createRequire(new URL('../../sys/package.json', import.meta.url)).resolve('koffi');

/** Hiding /proc needs a private mount namespace: root and unshare(1). */
export const mountNamespaces = requirement('mount namespaces (to hide /proc)', () => {
  if (process.getuid?.() !== 0) return 'needs root';
  const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'true'], { timeout: 5000 });
  return probe.status === 0 ? undefined : `unshare -m failed: ${String(probe.stderr)}`;
});

/** The environment that makes a Node process (started with `--import <preload>`) simulate `simulation`. */
function environment(simulation: Simulation): Record<string, string> {
  const libraries = simulation.libraries ?? (simulation.platform === 'darwin' ? ['/usr/lib/libSystem.B.dylib'] : simulation.platform === 'linux' ? ['libc.so.6'] : []);
  return {
    X_SIM_PLATFORM: simulation.platform,
    X_SIM_KOFFI: koffi,
    X_SIM_LIBRARIES: libraries.join(','),
    ...(simulation.trace ? { X_SIM_TRACE: '1' } : {}),
  };
}

/**
 * Starts `file` (a .mjs program) with `args` under `simulation`, as a Fixture. Everything the program
 * starts with process.execPath inherits nothing of the simulation unless it passes NODE_OPTIONS on:
 * NODE_OPTIONS carries the preload, so Node children simulate too.
 */
export function startSimulated(simulation: Simulation, file: string | URL, args: readonly string[] = [], options: SpawnOptions = {}): Fixture {
  const script = file instanceof URL ? fileURLToPath(file) : file;
  const env = {
    ...process.env,
    ...options.env,
    ...environment(simulation),
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${preload}`.trim(),
  };
  if (simulation.hideProc === false) return startFixture(script, args, { ...options, env });
  // Root's private mount namespace: /proc covered, the rest of the machine untouched.
  return startFixture(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=64k none /proc && exec "$0" "$@"', process.execPath, script, ...args],
    { ...options, env },
  );
}
