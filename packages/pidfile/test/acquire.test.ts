import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquire, adopt, PidFileLockedError, read } from '@x/pidfile';
import { deadline, flockFree, isRoot, startFixture } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { fixture, holder, holding, pidPaths, stopLooping } from './helpers.js';

const { dir, fresh } = pidPaths('test');

describe('acquire', () => {
  it('writes "<pid>\\n" with mode 0644 and holds an flock that flock(1) sees', async () => {
    const path = fresh();
    const file = await acquire(path);
    try {
      expect(readFileSync(path, 'latin1')).toBe(`${process.pid}\n`);
      expect(statSync(path).mode & 0o777).toBe(0o644);
      expect(file).toMatchObject({ path, pid: process.pid, locking: 'flock', released: false });
      expect(flockFree(path)).toBe(false);
      // No temporary file is left beside it.
      expect(readdirSync(dir).filter((name) => name.includes('.tmp'))).toEqual([]);
    } finally {
      file.release();
    }
    expect(existsSync(path)).toBe(false);
    expect(flockFree(path)).toBe(true);
    file.release();
  });

  it('tells a second owner who holds it, in another process and in this one', async () => {
    const path = fresh();
    const owner = await holder(path);
    const error: unknown = await acquire(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PidFileLockedError);
    expect(error).toMatchObject({ code: 'ERR_PIDFILE_LOCKED', pid: owner.pid, path });
    expect((error as Error).message).toContain(`pid ${owner.pid}`);
    owner.child.kill('SIGKILL');
    await owner.exit();
    await using _mine = await acquire(path);
    await expect(acquire(path)).rejects.toMatchObject({ code: 'ERR_PIDFILE_LOCKED', pid: process.pid });
  });

  it('takes over at once from an owner that was SIGKILLed, whose file is left behind', async () => {
    const path = fresh();
    const owner = await holder(path);
    owner.child.kill('SIGKILL');
    await owner.exit();
    expect(readFileSync(path, 'latin1')).toBe(`${owner.pid}\n`);
    expect(read(path)).toMatchObject({ status: 'stale', reason: 'unlocked', pid: owner.pid });
    const started = performance.now();
    const file = await acquire(path);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(readFileSync(path, 'latin1')).toBe(`${process.pid}\n`);
    file.release();
  });

  it.each([
    ['empty', ''],
    ['junk', '\u0000garbage\u00ff'],
    ['megabytes', 'x'.repeat(2 << 20)],
    ['a live pid, but no lock', `${process.ppid}\n`],
  ])('replaces a file left behind with %s content', async (_, content) => {
    const path = fresh();
    writeFileSync(path, content);
    const file = await acquire(path);
    expect(readFileSync(path, 'latin1')).toBe(`${process.pid}\n`);
    file.release();
  });

  it('waits for the owner when asked, and gives up at the deadline or on abort', async () => {
    const path = fresh();
    const owner = await holding('releases-on-disconnect.mjs', path, { ipc: true });
    const other = fresh();
    const busy = await holder(other);
    const settled = new Set<string>();
    const waiting = acquire(path, { wait: 10_000 }).finally(() => settled.add('waiting'));
    const controller = new AbortController();
    const aborted = acquire(other, { wait: 10_000, signal: controller.signal })
      .finally(() => settled.add('aborted'))
      .catch((error: unknown) => error);

    const started = performance.now();
    await expect(acquire(other, { wait: 200 })).rejects.toMatchObject({ code: 'ERR_PIDFILE_LOCKED', pid: busy.pid });
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    // That deadline passed while both owners held their files: the two long waits above are waiting now.
    expect(settled).toEqual(new Set());

    owner.child.disconnect();
    const file = await deadline(waiting, 10_000, 'the waiting acquire to take the released file');
    expect(await owner.nextLine()).toBe('released');
    expect(readFileSync(path, 'latin1')).toBe(`${process.pid}\n`);

    controller.abort();
    expect(await deadline(aborted, 10_000, 'the aborted acquire to give up')).toMatchObject({ name: 'AbortError' });
    file.release();
    busy.child.kill('SIGKILL');
    owner.child.kill('SIGKILL');
  });

  it('updates the pid in place, keeping the lock', async () => {
    const path = fresh();
    const file = await acquire(path);
    file.update(process.ppid);
    expect(readFileSync(path, 'latin1')).toBe(`${process.ppid}\n`);
    expect(file.pid).toBe(process.ppid);
    expect(flockFree(path)).toBe(false);
    expect(() => {
      file.update(0);
    }).toThrow(RangeError);
    file.release();
    expect(() => {
      file.update(process.pid);
    }).toThrow(expect.objectContaining({ code: 'ERR_PIDFILE_RELEASED' }));
  });

  it('never removes a file that is no longer its own', async () => {
    const path = fresh();
    const file = await acquire(path);
    // Someone replaced the file behind our back (a new inode at the same name).
    writeFileSync(`${path}.new`, '1234\n');
    renameSync(`${path}.new`, path);
    file.release();
    expect(readFileSync(path, 'latin1')).toBe('1234\n');
  });
});

describe('adopt', () => {
  it('takes over an inherited locked file, and refuses a file that is not the one at the path', async () => {
    const path = fresh();
    const original = await acquire(path, { removeOnExit: false });
    const adopted = adopt(path, original.fd, { pid: process.ppid, removeOnExit: false });
    expect(readFileSync(path, 'latin1')).toBe(`${process.ppid}\n`);
    expect(flockFree(path)).toBe(false);
    const other = fresh();
    writeFileSync(other, '');
    expect(() => adopt(other, original.fd)).toThrow(expect.objectContaining({ code: 'ERR_PIDFILE_NOT_A_FILE' }));
    adopted.release();
    expect(existsSync(path)).toBe(false);
  });
});

describe('acquire cleans up when its process ends', () => {
  it('on a normal exit', async () => {
    const path = fresh();
    const owner = await holding('exits-on-disconnect.mjs', path, { ipc: true });
    expect(existsSync(path)).toBe(true);
    owner.child.disconnect();
    expect(await owner.exit()).toEqual({ code: 0, signal: null });
    expect(existsSync(path)).toBe(false);
  });

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('on %s, still dying of that signal', async (signal) => {
    const path = fresh();
    const owner = await holder(path);
    owner.child.kill(signal);
    expect(await owner.exit()).toEqual({ code: null, signal });
    expect(existsSync(path)).toBe(false);
  });

  it('leaves SIGTERM to a program that handles it, and cleans up when it exits', async () => {
    const path = fresh();
    const owner = await holding('handles-sigterm.mjs', path, { ipc: true });
    owner.child.kill('SIGTERM');
    expect(await owner.nextLine()).toBe('term');
    expect(existsSync(path)).toBe(true);
    owner.child.disconnect();
    expect(await owner.exit()).toEqual({ code: 0, signal: null });
    expect(existsSync(path)).toBe(false);
  });
});

describe('acquire refuses bad paths with a typed error and leaves nothing behind', () => {
  it('a symlink to a file, and a dangling one', async () => {
    const target = join(dir, 'target');
    writeFileSync(target, 'precious\n');
    const link = fresh();
    symlinkSync(target, link);
    await expect(acquire(link)).rejects.toMatchObject({ code: 'ERR_PIDFILE_SYMLINK', path: link });
    expect(readFileSync(target, 'latin1')).toBe('precious\n');
    const dangling = fresh();
    symlinkSync(join(dir, 'nowhere'), dangling);
    await expect(acquire(dangling)).rejects.toMatchObject({ code: 'ERR_PIDFILE_SYMLINK' });
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
    expect(lstatSync(dangling).isSymbolicLink()).toBe(true);
  });

  it('a directory', async () => {
    const path = fresh();
    mkdirSync(path);
    await expect(acquire(path)).rejects.toMatchObject({ code: 'ERR_PIDFILE_NOT_A_FILE' });
  });

  it('a missing parent directory, unless asked to create it', async () => {
    const path = join(dir, 'missing', 'deeper', 'x.pid');
    await expect(acquire(path)).rejects.toMatchObject({ code: 'ERR_PIDFILE_NO_DIRECTORY' });
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    const file = await acquire(path, { createDirectory: true });
    expect(readFileSync(path, 'latin1')).toBe(`${process.pid}\n`);
    file.release();
  });

  it('bad arguments', async () => {
    await expect(acquire('')).rejects.toThrow(TypeError);
    await expect(acquire(fresh(), { pid: 0 })).rejects.toThrow(RangeError);
    await expect(acquire(fresh(), { pid: -1 })).rejects.toThrow(RangeError);
    await expect(acquire(fresh(), { wait: -5 })).rejects.toThrow(RangeError);
  });

  it.runIf(isRoot.ok)('a directory the user may not write to', async () => {
    const locked = join(dir, 'root-only');
    mkdirSync(locked, { mode: 0o755 });
    const path = join(locked, 'x.pid');
    const attempt = startFixture('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, fixture('try-acquire.mjs').pathname, path]);
    expect(await attempt.nextLine()).toMatch(/^error ERR_PIDFILE_ACCESS /);
    expect(readdirSync(locked)).toEqual([]);
  });
});

describe('locking: create (for platforms without flock)', () => {
  it('excludes a second owner while the first lives, and takes over once it is dead', async () => {
    const path = fresh();
    const owner = await holder(path, { locking: 'create' });
    await expect(acquire(path, { locking: 'create' })).rejects.toMatchObject({ code: 'ERR_PIDFILE_LOCKED', pid: owner.pid });
    owner.child.kill('SIGKILL');
    await owner.exit();
    const file = await acquire(path, { locking: 'create' });
    expect(readFileSync(path, 'latin1')).toBe(`${process.pid}\n`);
    file.release();
    expect(existsSync(path)).toBe(false);
  });

  it('does not mistake a process that reused the pid for the owner', async () => {
    const path = fresh();
    // The file was written an hour ago; the process now holding that pid (us) started later.
    writeFileSync(path, `${process.pid}\n`);
    const anHourAgo = new Date(Date.now() - 3_600_000);
    spawnSync('touch', ['-d', anHourAgo.toISOString(), path]);
    const file = await acquire(path, { locking: 'create', pid: process.pid });
    file.release();
  });
});

// Twelve rounds, each waiting for six Node start-ups, on a loaded 2-core machine: a generous upper bound.
const RACE_TIMEOUT_MS = 90_000;

describe('many processes racing for one PID file', () => {
  it('lets exactly one win each round, tells every loser the winner, and no reader sees a partial file', async () => {
    const path = fresh();
    const reader = startFixture(fixture('reader.mjs'), [path]);
    expect(await reader.nextLine()).toBe('reading');
    for (let round = 0; round < 12; round++) {
      const gun = join(dir, `gun-${round}`);
      const racers = Array.from({ length: 6 }, () => startFixture(fixture('racer.mjs'), [path, gun]));
      for (const racer of racers) expect(await racer.nextLine(15_000)).toBe('ready');
      writeFileSync(gun, '');
      const results = await Promise.all(racers.map((racer) => racer.nextLine(15_000)));
      const winners = results.filter((line) => line.startsWith('won '));
      expect(winners).toHaveLength(1);
      const winner = Number(winners[0]?.split(' ')[1]);
      for (const line of results.filter((entry) => entry.startsWith('lost '))) expect(line).toBe(`lost ${winner}`);
      expect(readFileSync(path, 'latin1')).toBe(`${winner}\n`);
      // The winner dies without cleaning up: next round starts from a stale file.
      for (const racer of racers) racer.child.kill('SIGKILL');
      await Promise.all(racers.map((racer) => racer.exit()));
    }
    const [, reads, , partial] = (await stopLooping(reader)).split(' ');
    expect(Number(reads)).toBeGreaterThan(100);
    expect(Number(partial)).toBe(0);
  }, RACE_TIMEOUT_MS);
});
