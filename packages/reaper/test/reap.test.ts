import { spawn } from 'node:child_process';
import { reap, type Reaped } from '@x/reaper';
import { parentOf, pidExists, pidNamespaces, spawnInPidNamespace, startFixture, waitFor } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

describe.runIf(pidNamespaces.ok)('reap() as PID 1 of a PID namespace', () => {
  it('leaves no zombie after thousands of orphans, while every child_process exit arrives with its code', async () => {
    const child = spawnInPidNamespace(process.execPath, [fixture('pid1.mjs').pathname, '3000', '300'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const report = JSON.parse(output) as { pid: number; mainOk: number; workerOk: number; zombies: number; reaped: number };
    expect(report.pid).toBe(1);
    // Not one exit event lost or wrong, on the main thread or in the worker.
    expect(report.mainOk).toBe(300);
    expect(report.workerOk).toBe(300);
    expect(report.zombies).toBe(0);
    expect(report.reaped).toBeGreaterThanOrEqual(3000);
  });
});

describe('reap() as a subreaper', () => {
  it('adopts an orphan outside any namespace and reaps it', async () => {
    const reaper = startFixture(fixture('subreaper.mjs'));
    expect(await reaper.nextLine()).toBe('active running as a child subreaper');
    const orphan = Number((await reaper.nextLine()).split(' ')[1]);
    // The shell in between has exited: the kernel gave its child to the subreaper.
    await waitFor(() => parentOf(orphan) === reaper.pid || !pidExists(orphan), { message: 'the orphan to be adopted' });
    expect(await reaper.nextLine()).toBe(`reaped ${orphan} 0`);
    expect(pidExists(orphan)).toBe(false);
    reaper.child.kill('SIGKILL');
  });

  it('does nothing when the process is neither PID 1 nor a subreaper, and says why', async () => {
    const fixtureProcess = startFixture(fixture('subreaper.mjs'), ['off']);
    expect(await fixtureProcess.nextLine()).toMatch(/^inactive not PID 1 and not a subreaper/);
    expect(await fixtureProcess.exit()).toEqual({ code: 0, signal: null });
  });

  it('drops the oldest notifications for an iterator that falls behind, and counts them', async () => {
    // This test file's own process becomes the subreaper: it adopts the five sleepers below.
    const reaper = reap({ subreaper: true, bufferSize: 2 });
    const iterator = reaper[Symbol.asyncIterator]();
    const heard: number[] = [];
    reaper.on('reap', ({ pid }) => heard.push(pid));
    spawn('sh', ['-c', 'for i in 1 2 3 4 5; do sleep 0.05 & done'], { stdio: 'ignore' });
    await waitFor(() => reaper.reaped === 5, { message: 'five orphans reaped' });
    expect(heard).toHaveLength(5);
    expect(reaper.dropped).toBe(3);
    // What is left for the iterator: the two newest.
    const first = (await iterator.next()).value as Reaped;
    const second = (await iterator.next()).value as Reaped;
    expect([first.pid, second.pid]).toEqual(heard.slice(3));
    reaper.stop();
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('is an async iterable that ends on stop(), in this very process', async () => {
    const reaper = reap({ disablePid1Check: true });
    expect(reaper.active).toBe(true);
    const iterator = reaper[Symbol.asyncIterator]();
    const next = iterator.next();
    reaper.stop();
    expect(await next).toEqual({ value: undefined, done: true });
    expect(reaper.sweep()).toEqual([]);
  });
});
