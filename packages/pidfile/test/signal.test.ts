import { writeFileSync } from 'node:fs';
import { acquire, signal, waitForExit } from '@x/pidfile';
import { isAlive } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { foreignLock, holder, holding, pidPaths } from './helpers.js';

const { fresh } = pidPaths('signal');

describe('signal', () => {
  it('signals the owner and waits until it is gone', async () => {
    const path = fresh();
    const owner = await holder(path);
    const result = await signal(path, 'SIGTERM', { wait: 5000 });
    expect(result).toEqual({ pid: owner.pid, signal: 'SIGTERM', exited: true });
    expect(await owner.exit()).toEqual({ code: null, signal: 'SIGTERM' });
    expect(isAlive(owner.pid)).toBe(false);
  });

  it('reports a process that outlives the wait, and accepts signal numbers', async () => {
    const path = fresh();
    const owner = await holding('ignores-sigterm.mjs', path);
    expect(await signal(path, 15, { wait: 200 })).toEqual({ pid: owner.pid, signal: 'SIGTERM', exited: false });
    // It had the signal, and outlived it.
    expect(await owner.nextLine()).toBe('ignored SIGTERM');
    expect(isAlive(owner.pid)).toBe(true);
    expect(await signal(path, 'SIGKILL', { wait: 5000 })).toMatchObject({ exited: true });
    await owner.exit();
  });

  it('refuses when nobody owns the file, saying why', async () => {
    const absent = fresh();
    await expect(signal(absent)).rejects.toMatchObject({ code: 'ERR_PIDFILE_NOT_RUNNING', status: { status: 'absent' } });
    const stale = fresh();
    writeFileSync(stale, `${process.ppid}\n`);
    // An unlocked file naming a live process (our parent) must not get it signalled.
    await expect(signal(stale, 'SIGTERM')).rejects.toMatchObject({ code: 'ERR_PIDFILE_NOT_RUNNING', status: { reason: 'unlocked' } });
    expect(isAlive(process.ppid)).toBe(true);
  });

  it('never signals this process, nor pid 1 unless allowed', async () => {
    const mine = fresh();
    const file = await acquire(mine);
    await expect(signal(mine, 'SIGTERM')).rejects.toMatchObject({ code: 'ERR_PIDFILE_UNSAFE_PID' });
    file.release();
    const init = fresh();
    writeFileSync(init, '1\n');
    const lock = await foreignLock(init);
    await expect(signal(init, 0)).rejects.toMatchObject({ code: 'ERR_PIDFILE_UNSAFE_PID' });
    expect(await signal(init, 0, { allowPid1: true })).toMatchObject({ pid: 1, signal: 0 });
    await lock.stop();
  });

  it('rejects unknown signals', async () => {
    const path = fresh();
    await expect(signal(path, 'SIGNOPE')).rejects.toMatchObject({ code: 'ERR_X_INVALID_SIGNAL' });
  });
});

describe('waitForExit', () => {
  it('resolves true once the owner is gone, false at the timeout', async () => {
    const path = fresh();
    const owner = await holder(path);
    let settled = false;
    const exited = waitForExit(path, { timeout: 10_000 }).finally(() => (settled = true));
    expect(await waitForExit(path, { timeout: 100 })).toBe(false);
    // That timeout passed while the owner ran: the longer wait above is polling now.
    expect(settled).toBe(false);
    owner.child.kill('SIGKILL');
    expect(await exited).toBe(true);
    await owner.exit();
  });
});
