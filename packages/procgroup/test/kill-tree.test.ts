import { spawn } from 'node:child_process';
import { killTree } from '@x/procgroup';
import { descendantsOf, isAlive, startFixture, waitFor } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { allGone, threeLevels } from './helpers.js';

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
});
