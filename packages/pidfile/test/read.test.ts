import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { acquire, read } from '@x/pidfile';
import { isAlive, isZombie, startFixture, waitFor } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { fixture, foreignLock, holder, pidPaths, stopLooping } from './helpers.js';

const { fresh } = pidPaths('read');
const commOf = (pid: number): string => readFileSync(`/proc/${pid}/comm`, 'latin1').trim();

describe('read', () => {
  it('says absent when there is no file', () => {
    const path = fresh();
    expect(read(path)).toEqual({ status: 'absent', path });
  });

  it('says running for a live owner holding the lock', async () => {
    const path = fresh();
    const owner = await holder(path);
    expect(read(path)).toEqual({ status: 'running', path, pid: owner.pid, locked: true });
    owner.child.kill('SIGKILL');
    await owner.exit();
    expect(read(path)).toMatchObject({ status: 'stale', reason: 'unlocked', pid: owner.pid, locked: false });
  });

  it('says stale when nobody holds the lock, whatever the file says', () => {
    const path = fresh();
    writeFileSync(path, `${process.pid}\n`);
    expect(read(path)).toMatchObject({ status: 'stale', reason: 'unlocked', pid: process.pid });
  });

  it('says stale (gone) for a locked file naming a process that does not exist', async () => {
    const path = fresh();
    writeFileSync(path, '4194303\n');
    const lock = await foreignLock(path);
    expect(read(path)).toMatchObject({ status: 'stale', reason: 'gone', pid: 4_194_303, locked: true });
    await lock.stop();
  });

  it('says stale (zombie) for a locked file naming a process that has exited but not been reaped', async () => {
    // The child waits for a line on fd 3, which the test sends once the shell has exec'd into
    // `sleep 60`: that never reaps it.
    const parent = startFixture('sh', ['-c', 'read _ <&3 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    try {
      const zombie = Number(await parent.nextLine());
      await waitFor(() => commOf(parent.pid) === 'sleep', { message: `the shell ${parent.pid} to exec sleep` });
      expect(isAlive(zombie)).toBe(true);
      (parent.child.stdio[3] as Writable).write('go\n');
      await waitFor(() => isZombie(zombie), { message: `pid ${zombie} to become a zombie` });
      const path = fresh();
      writeFileSync(path, `${zombie}\n`);
      const lock = await foreignLock(path);
      expect(read(path)).toMatchObject({ status: 'stale', reason: 'zombie', pid: zombie });
      await lock.stop();
    } finally {
      parent.child.kill('SIGKILL');
    }
  });

  it('says stale (reused) when the process with that pid started after the file was written', async () => {
    const path = fresh();
    writeFileSync(path, `${process.pid}\n`);
    const anHourAgo = (Date.now() - 3_600_000) / 1000;
    utimesSync(path, anHourAgo, anHourAgo);
    const lock = await foreignLock(path);
    const status = read(path);
    expect(status).toMatchObject({ status: 'stale', reason: 'reused', pid: process.pid, locked: true });
    expect(status.status === 'stale' && status.detail).toContain('started');
    await lock.stop();
  });

  it('never takes junk for a pid', async () => {
    const path = fresh();
    writeFileSync(path, '-1\n');
    expect(read(path)).toMatchObject({ status: 'stale', reason: 'invalid', pid: undefined });
    writeFileSync(path, 'x'.repeat(1 << 20));
    expect(read(path)).toMatchObject({ status: 'stale', reason: 'invalid' });
    // Locked with junk in it: the holder is who took the lock.
    writeFileSync(path, 'garbage');
    const lock = await foreignLock(path);
    expect(read(path)).toEqual({ status: 'running', path, pid: lock.pid, locked: true });
    await lock.stop();
  });

  it('refuses symlinks and directories', () => {
    const link = fresh();
    symlinkSync('/etc/hostname', link);
    expect(() => read(link)).toThrow(expect.objectContaining({ code: 'ERR_PIDFILE_SYMLINK' }));
    const directory = fresh();
    mkdirSync(directory);
    expect(() => read(directory)).toThrow(expect.objectContaining({ code: 'ERR_PIDFILE_NOT_A_FILE' }));
  });

  it('never makes a concurrent acquire fail, however often it looks', async () => {
    const path = fresh();
    const probers = [startFixture(fixture('prober.mjs'), [path]), startFixture(fixture('prober.mjs'), [path])];
    for (const prober of probers) expect(await prober.nextLine()).toBe('probing');
    for (let cycle = 0; cycle < 300; cycle++) {
      const file = await acquire(path);
      file.release();
    }
    // Each prober was still probing at the end (an error from read() would have ended it) and probed at all.
    for (const prober of probers) expect(await stopLooping(prober)).toMatch(/^probes [1-9]\d*$/);
  });
});
