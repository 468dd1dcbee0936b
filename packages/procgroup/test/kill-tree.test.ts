import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownCgroup } from '@x/sys';
import { cgroupUnavailable, killTree } from '@x/procgroup';
import { descendantsOf, isAlive, requirement, startFixture, stateOf, waitFor } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { allGone, fixture, threeLevels } from './helpers.js';

const cgroups = requirement('a writable cgroup v2 hierarchy (cgroup.freeze)', () => cgroupUnavailable());
const SIGSTOP_BIT = 1n << 18n;
/** The signals pending for the whole process (ShdPnd of /proc/PID/status), as a bit mask. */
const pendingSignals = (pid: number) => BigInt(`0x${/^ShdPnd:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? '0'}`);

describe('killTree', () => {
  it('kills a three-level tree it did not start, and returns every pid it signalled', async () => {
    const root = startFixture('sh', ['-c', threeLevels(3)]);
    expect(await root.nextLine()).toBe('up');
    await waitFor(() => descendantsOf(root.pid).filter(isAlive).length === 12, { message: 'a tree of 13' });
    const tree = [root.pid, ...descendantsOf(root.pid)];
    const signalled = await killTree(root.pid);
    expect(signalled.sort()).toEqual(tree.sort());
    await allGone(tree);
  });

  it('loses no child forked while it works', async () => {
    // A shell that forks a new sleeper every few milliseconds, forever.
    const root = startFixture('sh', ['-c', 'echo up; while :; do sleep 60 & sleep 0.002; done']);
    expect(await root.nextLine()).toBe('up');
    await waitFor(() => descendantsOf(root.pid).length > 20, { message: 'the forker to have forked a while' });
    const signalled = await killTree(root.pid, 'SIGTERM');
    expect(signalled.length).toBeGreaterThan(20);
    await allGone(signalled);
    // Nothing it forked survived: no live descendant, and the root is gone.
    expect(descendantsOf(root.pid).filter(isAlive)).toEqual([]);
    expect(isAlive(root.pid)).toBe(false);
  });

  it('resumes the processes it froze, so they can handle the signal', async () => {
    const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => { console.log('handled'); process.exit(0) }); console.log('up'); setInterval(() => {}, 1e6)"], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', (code) => { resolve(code); }));
    const lines: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
    await waitFor(() => lines.includes('up'), { message: 'the child to start' });
    await killTree(child.pid as number, 'SIGTERM');
    await waitFor(() => lines.includes('handled'), { message: 'the child to handle SIGTERM' });
    expect(await exited).toBe(0);
  });

  it('refuses pids that would hit init, groups, itself or its ancestors', async () => {
    for (const pid of [0, -1, -process.pid, 1, process.pid, process.ppid, 1.5]) {
      await expect(killTree(pid)).rejects.toMatchObject({ code: 'ERR_PROCGROUP_UNSAFE_PID' });
    }
    await expect(killTree(4_194_303)).resolves.toEqual([]);
    await expect(killTree(process.ppid, 'SIGBOGUS')).rejects.toMatchObject({ code: 'ERR_X_INVALID_SIGNAL' });
  });

  it('refuses every thread id of its own process, not only the main one', async () => {
    const own = startFixture(fixture('kills-own-threads.mjs'));
    const { tid } = JSON.parse(await own.nextLine()) as { tid: number };
    const { tids, outcomes } = JSON.parse(await own.nextLine()) as { tids: number[]; outcomes: unknown[] };
    expect(tids).toContain(tid);
    expect(tids.length).toBeGreaterThan(1);
    expect(outcomes).toEqual(tids.map(() => 'ERR_PROCGROUP_UNSAFE_PID'));
    // It never stopped itself: it ran on to exit.
    expect(await own.exit()).toEqual({ code: 0, signal: null });
  });

  it('kills the process a thread id belongs to, and names the process', async () => {
    const target = startFixture(fixture('worker-thread.mjs'));
    const { tid } = JSON.parse(await target.nextLine()) as { tid: number };
    const signalled = await killTree(tid);
    expect(signalled).toEqual([target.pid]);
    expect(await target.exit()).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it.runIf(cgroups.ok)('resumes what it stopped when the walk fails midway (out of descriptors)', async () => {
    const root = startFixture('sh', ['-c', 'sleep 60 & sleep 60 & echo up; wait']);
    expect(await root.nextLine()).toBe('up');
    await waitFor(() => descendantsOf(root.pid).filter(isAlive).length === 2, { message: 'a root with two children' });
    const [frozen, free] = descendantsOf(root.pid) as [number, number];
    const tree = [root.pid, frozen, free];
    // A child in a frozen cgroup cannot stop before it is thawed: the walk waits for it, and fails meanwhile.
    const freezer = join(ownCgroup()?.directory as string, `x-procgroup-test-freezer-${process.pid}`);
    mkdirSync(freezer);
    try {
      writeFileSync(join(freezer, 'cgroup.procs'), String(frozen));
      writeFileSync(join(freezer, 'cgroup.freeze'), '1');
      await waitFor(() => /^frozen 1$/m.test(readFileSync(join(freezer, 'cgroup.events'), 'latin1')), { message: 'the child to be frozen' });
      const walker = startFixture('prlimit', ['--nofile=256:256', process.execPath, fixture('walk-fails.mjs').pathname, String(root.pid)]);
      expect(JSON.parse(await walker.nextLine())).toEqual({ code: 'EMFILE' });
      walker.child.kill('SIGKILL');
      // What it had stopped runs again, and the SIGSTOP still pending for the frozen child was withdrawn.
      await waitFor(() => stateOf(root.pid) === 'S' && stateOf(free) === 'S', {
        message: `the root and its other child to run again (states ${stateOf(root.pid) ?? '-'} ${stateOf(free) ?? '-'})`,
      });
      expect(pendingSignals(frozen) & SIGSTOP_BIT).toBe(0n);
      expect(tree.filter(isAlive)).toHaveLength(3);
    } finally {
      writeFileSync(join(freezer, 'cgroup.freeze'), '0');
      for (const pid of tree) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      await allGone(tree);
      await waitFor(
        () => {
          try {
            rmdirSync(freezer);
            return true;
          } catch {
            return false;
          }
        },
        { message: `the freezer cgroup ${freezer} to be removable` },
      );
    }
  });
});
