import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { mountNamespaces, scratchDir, startSimulated, type Simulation } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

// These run @x/sys in a process that reports another platform and whose C library lacks Linux's own
// symbols (see @x/test-utils' startSimulated): they check this package's platform branches, not macOS
// or Windows themselves.

const dir = scratchDir('x-sys-platform');
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const fresh = () => mkdtempSync(join(dir, 'p-'));

async function run(simulation: Simulation, name: string): Promise<{ line: string; stderr: string }> {
  const child = startSimulated(simulation, fixture(name), [fresh()]);
  const line = await child.nextLine(20_000);
  expect(await child.exit(20_000)).toEqual({ code: 0, signal: null });
  return { line, stderr: child.stderr };
}

const POSIX = ['flock', 'getpgid', 'getsid', 'getppid', 'setsid', 'waitpid', 'execvp'];

describe.runIf(mountNamespaces.ok)('@x/sys off Linux (simulated, /proc hidden)', () => {
  it('on "macOS" every POSIX call works and every Linux-only call is a typed refusal', async () => {
    const results = JSON.parse((await run({ platform: 'darwin' }, 'platform-calls.mjs')).line) as Record<string, string>;
    for (const [name, result] of Object.entries(results)) {
      expect([name, result]).toEqual([name, POSIX.includes(name) || ['holdsFlock', 'listedFlocks', 'capabilities', 'processState'].includes(name) ? 'ok' : 'ERR_X_UNSUPPORTED_PLATFORM']);
    }
  });

  it('on "Windows" every call that needs a C library is a typed refusal', async () => {
    const results = JSON.parse((await run({ platform: 'win32' }, 'platform-calls.mjs')).line) as Record<string, string>;
    for (const [name, result] of Object.entries(results)) {
      expect([name, result]).toEqual([name, ['holdsFlock', 'listedFlocks', 'capabilities', 'processState'].includes(name) ? 'ok' : 'ERR_X_UNSUPPORTED_PLATFORM']);
    }
  });
});

describe.runIf(mountNamespaces.ok)('finding the C library', () => {
  it('tries glibc first, then musl (Alpine), and works with musl alone', async () => {
    const musl = `libc.musl-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.so.1`;
    const { line, stderr } = await run({ platform: 'linux', libraries: [musl], trace: true, hideProc: false }, 'flock-once.mjs');
    expect(line).toBe('ok');
    expect(stderr.split('\n').filter((entry) => entry.startsWith('x-sim: load'))).toEqual(['x-sim: load libc.so.6', `x-sim: load ${musl}`]);
  });

  it('without any C library, a call fails with ERR_X_NO_C_LIBRARY naming what was tried', async () => {
    const { line } = await run({ platform: 'linux', libraries: [], hideProc: false }, 'flock-once.mjs');
    expect(line).toMatch(/^ERR_X_NO_C_LIBRARY cannot load the C library \(tried libc\.so\.6, libc\.musl-\w+\.so\.1, libc\.so\)/);
  });
});
