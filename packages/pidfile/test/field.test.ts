import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { acquire, read } from '@x/pidfile';
import { binPath, flockFree, isAlive, isRoot, pidNamespaces, requirement, startFixture, waitFor } from '@x/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture, holder, pidPaths, stopLooping } from './helpers.js';

// Where these packages really run: containers (PID namespaces), btrfs and overlayfs, beside signal-exit,
// files locked in place by unprivileged users. Each test here failed before the behaviour was fixed.

const { dir, fresh } = pidPaths('field');
const cli = binPath(import.meta.url, '@x/pidfile', 'x-pidfile');

/** Runs a shell script as PID 1 of a fresh PID namespace and returns its output lines by first word. */
/** Runs `script` as the child of PID 1 in a new PID namespace; `line(key)` is what it printed after "key ". */
function inPidNamespace(script: string, env: Record<string, string>): { line: (key: string) => string } {
  const result = spawnSync('unshare', ['-p', '-f', '--mount-proc', '--kill-child', 'sh', '-c', script], {
    encoding: 'utf8',
    env: { ...process.env, ...env, NODE: process.execPath },
    timeout: 60_000,
  });
  expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  const lines = new Map(result.stdout.trim().split('\n').map((line) => [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)]));
  return {
    line: (key) => {
      const value = lines.get(key);
      // A step that failed printed nothing: show what it said on stderr.
      if (value === undefined) throw new Error(`the script printed no "${key}" line\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
      return value;
    },
  };
}

describe.runIf(pidNamespaces.ok)('inside a PID namespace (a container)', () => {
  it('a lock handed down from a process that has exited reads as running; status, signal and flock agree', () => {
    const path = fresh();
    const run = inPidNamespace(
      `set -u
       daemon=$("$NODE" "$HAND_OVER" "$PIDFILE")
       echo "daemon $daemon"
       echo "read $("$NODE" "$STATUS" "$PIDFILE")"
       "$NODE" "$CLI" status "$PIDFILE" >/dev/null; echo "cli $?"
       flock -n "$PIDFILE" true; echo "flock $?"
       "$NODE" --input-type=module -e "import { signal } from '@x/pidfile'; const r = await signal(process.env.PIDFILE, 'SIGTERM', { wait: 10000 }); console.log('signal', JSON.stringify(r));"
       kill -0 "$daemon" 2>/dev/null; echo "alive $?"`,
      { HAND_OVER: fixture('hand-over.mjs').pathname, STATUS: fixture('status.mjs').pathname, CLI: cli, PIDFILE: path },
    );
    const daemon = Number(run.line('daemon'));
    expect(JSON.parse(run.line('read'))).toEqual({ status: 'running', path, pid: daemon, locked: true });
    // LSB: 0 is "running".
    expect(run.line('cli')).toBe('0');
    // flock(1) cannot take the lock: it is really held.
    expect(run.line('flock')).toBe('1');
    expect(JSON.parse(run.line('signal'))).toEqual({ pid: daemon, signal: 'SIGTERM', exited: true });
    // kill -0 fails: the daemon is gone.
    expect(run.line('alive')).toBe('1');
  });
});

/** Mounts `source` at a new directory below the scratch dir; unmounted after the file. */
const mounts: string[] = [];
// The overlay's upper layer must be on a disk file system, never on the one under test (which may be an
// overlay itself, and overlayfs refuses an overlay as upper layer): beside, not below, the scratch dir.
const layers = mkdtempSync('/var/tmp/x-pidfile-layers-');
afterAll(() => {
  // Lazily: a process of a failed test may still hold a file there; the mount goes when it does.
  for (const mount of mounts.reverse()) spawnSync('umount', ['-l', mount]);
  rmSync(layers, { recursive: true, force: true });
});
function mount(name: string, args: string[]): string {
  const target = join(dir, name);
  mkdirSync(target, { recursive: true });
  const result = spawnSync('mount', [...args, target], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mount ${args.join(' ')} failed: ${result.stderr}`);
  mounts.push(target);
  return target;
}

const btrfs = requirement('btrfs (mkfs.btrfs from btrfs-progs, loop devices, root)', () => {
  if (!isRoot.ok) return 'mounting needs root';
  return spawnSync('mkfs.btrfs', ['--version']).status === 0 ? undefined : 'mkfs.btrfs is not installed (apt-get install btrfs-progs)';
});

/** Makes the file system on first use only. */
const once = (make: () => string): (() => string) => {
  let made: string | undefined;
  return () => (made ??= make());
};

const fileSystems: [string, () => string][] = [
  [
    'btrfs',
    once(() => {
      const image = join(dir, 'btrfs.img');
      writeFileSync(image, '');
      spawnSync('truncate', ['-s', '200M', image]);
      const made = spawnSync('mkfs.btrfs', ['-q', image], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`mkfs.btrfs failed: ${made.stderr}`);
      return mount('btrfs', ['-o', 'loop', image]);
    }),
  ],
  [
    'overlayfs with its lower layer on another file system',
    once(() => {
      const lower = mount('lower', ['-t', 'tmpfs', 'tmpfs']);
      for (const part of ['upper', 'work']) mkdirSync(join(layers, part));
      return mount('merged', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${join(layers, 'upper')},workdir=${join(layers, 'work')}`]);
    }),
  ],
];

describe.runIf(btrfs.ok)('on file systems whose stat() device differs from /proc/locks', () => {
  it.each(fileSystems)('%s: a held PID file reads as running, and as stale once its owner dies', async (_name, make) => {
    const path = join(make(), 'svc.pid');
    const owner = await holder(path);
    expect(flockFree(path)).toBe(false);
    expect(read(path)).toEqual({ status: 'running', path, pid: owner.pid, locked: true });
    owner.child.kill('SIGKILL');
    await owner.exit();
    expect(flockFree(path)).toBe(true);
    expect(read(path)).toMatchObject({ status: 'stale', pid: owner.pid });
  });

  it.each(fileSystems)('%s: a lock handed down to a process that was not its taker reads as running', async (_name, make) => {
    const path = join(make(), 'daemon.pid');
    const handOver = startFixture(fixture('hand-over.mjs'), [path]);
    const daemon = Number(await handOver.nextLine());
    await handOver.exit();
    try {
      expect(flockFree(path)).toBe(false);
      expect(read(path)).toEqual({ status: 'running', path, pid: daemon, locked: true });
    } finally {
      process.kill(daemon, 'SIGKILL');
    }
    await waitFor(() => !isAlive(daemon), { message: `the handed-over sleep ${daemon} to die` });
  });
});

describe('the owner, not the wall clock, decides', () => {
  it('a live owner holding the lock stays running when the clock stepped forward (or the mtime went back)', async () => {
    const path = fresh();
    const owner = await holder(path);
    // The same as the wall clock stepping forward an hour after the file was written: the owner's start
    // time (computed from the clock now) lies after the file's mtime.
    const anHourAgo = (Date.now() - 3_600_000) / 1000;
    utimesSync(path, anHourAgo, anHourAgo);
    expect(flockFree(path)).toBe(false);
    expect(read(path)).toEqual({ status: 'running', path, pid: owner.pid, locked: true });
  });

  it('read() racing an update() by the live owner never says stale', async () => {
    const path = fresh();
    const updater = startFixture(fixture('updater.mjs'), [path, '40']);
    expect(await updater.nextLine()).toBe('ready');
    const reader = startFixture(fixture('status-loop.mjs'), [path]);
    expect(await reader.nextLine()).toBe('reading');
    expect(await updater.nextLine(30_000)).toBe('done');
    const summary = await stopLooping(reader);
    updater.child.kill('SIGTERM');
    await updater.exit();
    const match = /^reads (\d+) notRunning (\d+)/.exec(summary);
    expect(match, summary).not.toBeNull();
    // The reader really raced the updates.
    expect(Number(match?.[1])).toBeGreaterThan(1000);
    expect(summary).toMatch(/notRunning 0 ?$/);
  });
});

describe('beside signal-exit (execa, write-file-atomic, proper-lockfile)', () => {
  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('%s still ends the process, runs both handlers and releases the file', async (signal) => {
    const path = fresh();
    const owner = startFixture(fixture('beside-signal-exit.mjs'), [path]);
    expect(await owner.nextLine()).toBe(`held ${owner.pid}`);
    owner.child.kill(signal);
    expect(await owner.exit()).toEqual({ code: null, signal });
    expect(owner.stdout).toContain('signal-exit handler ran');
    // Removed (and so unlocked: flock(1) would create the file, so it is not asked here).
    expect(existsSync(path)).toBe(false);
  });
});

describe('bad places and hand-offs', () => {
  it('a unix socket at the path is ERR_PIDFILE_NOT_A_FILE', async () => {
    const path = fresh();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      await expect(acquire(path)).rejects.toMatchObject({ code: 'ERR_PIDFILE_NOT_A_FILE' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('the holder\'s fd names the PID file itself (lsof, /proc/PID/fd), also after taking over a stale file', async () => {
    const path = fresh();
    const first = await acquire(path);
    expect(readlinkSync(`/proc/self/fd/${first.fd}`)).toBe(path);
    first.release();
    writeFileSync(path, '4194303\n');
    const second = await acquire(path);
    expect(readlinkSync(`/proc/self/fd/${second.fd}`)).toBe(path);
    second.release();
    // No temporary is left beside it.
    expect(readdirSync(dirname(path)).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('a takeover sweeps temporaries of dead creators only, never a live one\'s', async () => {
    const path = fresh();
    const base = path.slice(dirname(path).length + 1);
    const dead = join(dirname(path), `.${base}.4194303.abc.tmp`);
    const live = join(dirname(path), `.${base}.${process.pid}.def.tmp`);
    writeFileSync(dead, '');
    writeFileSync(live, '');
    writeFileSync(path, '4194303\n');
    const file = await acquire(path);
    file.release();
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  it('failed acquires leave no fd open, and a later acquire in the same process works', async () => {
    const openFds = () => readdirSync('/proc/self/fd').length;
    const path = fresh();
    const owner = await holder(path);
    const before = openFds();
    for (let attempt = 0; attempt < 5; attempt++) {
      await expect(acquire(path)).rejects.toMatchObject({ code: 'ERR_PIDFILE_LOCKED', pid: owner.pid });
      await expect(acquire(join(dir, 'missing', 'x.pid'))).rejects.toMatchObject({ code: 'ERR_PIDFILE_NO_DIRECTORY' });
      await expect(acquire(dir)).rejects.toMatchObject({ code: 'ERR_PIDFILE_NOT_A_FILE' });
    }
    expect(openFds()).toBe(before);
    owner.child.kill('SIGKILL');
    await owner.exit();
    const mine = await acquire(path);
    expect(read(path)).toMatchObject({ status: 'running', pid: process.pid });
    mine.release();
  });

  it.runIf(isRoot.ok)('a stale file of another user in a sticky directory is taken over in place, and released without error', async () => {
    // /tmp-like: world-writable and sticky, so nobody may not rename over root's file, only rewrite it.
    const sticky = join(dir, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const path = join(sticky, 'svc.pid');
    writeFileSync(path, '4194303\n');
    chmodSync(path, 0o666);
    const attempt = startFixture('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, fixture('try-acquire.mjs').pathname, path]);
    expect(await attempt.nextLine()).toMatch(/^ok "\d+\\n"$/);
    // release() could not remove root's file from the sticky directory, and said nothing: it is unlocked.
    expect(await attempt.exit()).toEqual({ code: 0, signal: null });
    expect(flockFree(path)).toBe(true);
    expect(read(path)).toMatchObject({ status: 'stale' });
  });
});
