import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { acquire, read } from '@x/pidfile';
import { flockFree, requirement, scratchDir } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { holder } from './helpers.js';

const dir = scratchDir('x-pidfile');
const startStopDaemon = requirement('start-stop-daemon (Debian dpkg)', () =>
  spawnSync('start-stop-daemon', ['--version']).error ? 'start-stop-daemon is not installed' : undefined,
);

describe('standard tools read our PID files', () => {
  it('while held: flock(1) cannot lock it, pkill -F finds the owner, start-stop-daemon says running', async () => {
    const path = join(dir, 'interop.pid');
    const owner = await holder(path);
    expect(flockFree(path)).toBe(false);
    expect(spawnSync('pkill', ['-0', '-F', path]).status).toBe(0);
    if (startStopDaemon.ok) expect(spawnSync('start-stop-daemon', ['--status', '--pidfile', path]).status).toBe(0);

    owner.child.kill('SIGKILL');
    await owner.exit();
    // The owner is gone: the file it left is stale, and the next owner takes it at once.
    expect(flockFree(path)).toBe(true);
    expect(spawnSync('pkill', ['-0', '-F', path]).status).toBe(1);
    if (startStopDaemon.ok) expect(spawnSync('start-stop-daemon', ['--status', '--pidfile', path]).status).toBe(1);
    expect(read(path)).toMatchObject({ status: 'stale', reason: 'unlocked' });
    const file = await acquire(path);
    expect(spawnSync('pkill', ['-0', '-F', path]).status).toBe(0);
    file.release();
    if (startStopDaemon.ok) expect(spawnSync('start-stop-daemon', ['--status', '--pidfile', path]).status).toBe(3);
  });
});
