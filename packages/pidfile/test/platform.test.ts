import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { mountNamespaces, scratchDir, startSimulated } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

// @x/pidfile in a process that reports another platform, whose C library lacks the Linux-only symbols
// and whose /proc is hidden (@x/test-utils' startSimulated). This checks the package's own platform
// branches, not macOS or Windows themselves.

const dir = scratchDir('x-pidfile-platform');
const tour = new URL('./fixtures/platform-tour.mjs', import.meta.url);

async function run(platform: 'darwin' | 'win32'): Promise<Record<string, unknown>> {
  const child = startSimulated({ platform }, tour, [mkdtempSync(join(dir, `${platform}-`))]);
  const line = await child.nextLine(30_000);
  expect(await child.exit(20_000)).toEqual({ code: 0, signal: null });
  return JSON.parse(line) as Record<string, unknown>;
}

describe.runIf(mountNamespaces.ok)('@x/pidfile off Linux (simulated)', () => {
  it.each([
    ['macOS', 'darwin', 'flock'],
    ['Windows', 'win32', 'create'],
  ] as const)('on "%s" the whole cycle works (locking: %s)', async (_name, platform, locking) => {
    expect(await run(platform)).toEqual({
      acquire: locking,
      read: 'running',
      'second acquire': 'ERR_PIDFILE_LOCKED',
      'signal self': 'ERR_PIDFILE_UNSAFE_PID',
      'child holds': 'held',
      'read child': 'running',
      'signal child': true,
      'read after': 'absent',
      release: 'absent',
    });
  });
});
