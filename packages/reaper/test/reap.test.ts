import { spawn } from 'node:child_process';
import { reap, type Reaped } from '@x/reaper';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { deadline, Fixture, isAlive, makeFifo, openGate, parentOf, pidExists, pidNamespaces, scratchDir, spawnInPidNamespace, startFixture, waitFor } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { mountNamespaces, withForeignProc, withoutProc } from './helpers.js';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const fixturePath = (name: string) => fileURLToPath(fixture(name));
const scratch = scratchDir('x-reap');

describe.runIf(pidNamespaces.ok)('reap() as PID 1 of a PID namespace', () => {
  it('leaves no zombie after thousands of orphans, while every child_process exit arrives with its code', async () => {
    const run = new Fixture(spawnInPidNamespace(process.execPath, [fixturePath('pid1.mjs'), '3000', '300']), 'pid1.mjs');
    // 3000 shells and 600 spawns on two busy cores: the bound is for hangs, not speed.
    const report = JSON.parse(await run.nextLine(60_000)) as { pid: number; mainOk: number; workerOk: number; zombies: number; reaped: number };
    expect(await run.exit(), run.stderr).toEqual({ code: 0, signal: null });
    expect(report.pid).toBe(1);
    // Not one exit event lost or wrong, on the main thread or in the worker.
    expect(report.mainOk).toBe(300);
    expect(report.workerOk).toBe(300);
    expect(report.zombies).toBe(0);
    expect(report.reaped).toBeGreaterThanOrEqual(3000);
  }, 90_000);
});

describe('reap() as a subreaper', () => {
  it('adopts an orphan outside any namespace and reaps it', async () => {
    // The orphan ends (exit 0) only once the test opens this fifo: it cannot end before it is adopted.
    const gate = join(scratch, 'orphan-gate');
    makeFifo(gate);
    const reaper = startFixture(fixture('subreaper.mjs'), [gate]);
    expect(await reaper.nextLine()).toBe('active running as a child subreaper');
    const orphan = Number((await reaper.nextLine()).split(' ')[1]);
    // The shell in between has exited: the kernel gave its child to the subreaper.
    await waitFor(() => parentOf(orphan) === reaper.pid, { message: 'the orphan to be adopted' });
    expect(isAlive(orphan)).toBe(true);
    await openGate(gate, `orphan ${orphan}`);
    expect(await reaper.nextLine()).toBe(`reaped ${orphan} 0`);
    expect(pidExists(orphan)).toBe(false);
    reaper.child.kill('SIGKILL');
  });

  it('does nothing when the process is neither PID 1 nor a subreaper, and says why', async () => {
    const fixtureProcess = startFixture(fixture('not-a-subreaper.mjs'));
    expect(await fixtureProcess.nextLine()).toMatch(/^inactive not PID 1 and not a subreaper/);
    expect(await fixtureProcess.exit()).toEqual({ code: 0, signal: null });
  });

  it('drops the oldest notifications for an iterator that falls behind, and counts them', async () => {
    // This test file's own process becomes the subreaper: it adopts the five sleepers below.
    const reaper = reap({ subreaper: true, bufferSize: 2 });
    const iterator = reaper[Symbol.asyncIterator]();
    const heard: number[] = [];
    reaper.on('reap', ({ pid }) => heard.push(pid));
    // Whether a sleeper is still running or already a zombie when its shell exits, it is adopted and reaped here.
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

describe('reap() in a worker thread', () => {
  it('is inactive, says why, and takes none of the exits the main thread is waiting for', async () => {
    const run = startFixture(fixture('worker-reap.mjs'), ['8']);
    const handle = await run.nextLine();
    const pids = (await run.nextLine()).split(' ').slice(1).map(Number);
    expect(pids).toHaveLength(8);
    // The worker swept while these were zombies that libuv had not collected yet.
    await waitFor(() => pids.every((pid) => run.stdout.includes(`exit ${pid} `)), {
      timeout: 20_000,
      message: `an 'exit' event for every main-thread child (got: ${run.stdout.trim()})`,
    });
    for (const [index, pid] of pids.entries()) expect(run.stdout).toContain(`exit ${pid} ${index + 1}\n`);
    for (const pid of pids) expect(pidExists(pid)).toBe(false);
    expect(handle).toMatch(/^worker false reap\(\) was called in a worker thread/);
    expect(run.stdout).toContain('swept 0\n');
    expect(await run.exit()).toEqual({ code: 0, signal: null });
  });

  it('runForked() rejects there instead of running the program a second time', async () => {
    const entry = pathToFileURL(createRequire(import.meta.url).resolve('@x/reaper')).href;
    const source = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(entry)})
        .then(({ runForked }) => runForked())
        .then(() => parentPort.postMessage('resolved'), (error) => parentPort.postMessage(error.code));
    `;
    const worker = new Worker(source, { eval: true });
    try {
      const [code] = (await deadline(once(worker, 'message'), 10_000, 'the worker to report')) as [unknown];
      expect(code).toBe('ERR_REAPER_NOT_MAIN_THREAD');
    } finally {
      await worker.terminate();
    }
  });
});

describe('reap() where the children list cannot be read', () => {
  it.runIf(mountNamespaces.ok)('without /proc, is inactive, names what failed, and emits it as an error event and a debug line', async () => {
    const run = startFixture('unshare', withoutProc(process.execPath, fixturePath('no-children-list.mjs')), {
      env: { ...process.env, NODE_DEBUG: 'x:reaper' },
    });
    expect(await run.nextLine()).toMatch(/^inactive cannot read the children list: \/proc\/self is unreadable \(ENOENT\); mount a \/proc/);
    expect(await run.nextLine()).toMatch(/^error ERR_REAPER_CHILDREN_LIST cannot read the children list: \/proc\/self/);
    expect(await run.exit()).toEqual({ code: 0, signal: null });
    expect(run.stderr).toMatch(/^X:REAPER \d+: cannot reap: cannot read the children list/m);
  });

  it.runIf(pidNamespaces.ok)("refuses a /proc mounted for another PID namespace rather than read another process's children", async () => {
    const run = startFixture('unshare', withForeignProc(process.execPath, fixturePath('no-children-list.mjs')));
    // As PID 1 it would otherwise read /proc/1/task/1/children: the outer init's.
    expect(await run.nextLine()).toMatch(/^inactive cannot read the children list: \/proc belongs to another PID namespace \(it calls this process \d+, not 1\)/);
    expect(await run.nextLine()).toMatch(/^error ERR_REAPER_CHILDREN_LIST /);
    expect(await run.exit()).toEqual({ code: 0, signal: null });
  });

  it.runIf(mountNamespaces.ok)('emits one error event when the list becomes unreadable while it runs; sweep() throws it', async () => {
    const run = startFixture('unshare', ['-m', '--propagation', 'private', process.execPath, fixturePath('proc-vanishes.mjs')]);
    expect(await run.exit()).toEqual({ code: 0, signal: null });
    const lines = run.stdout.trim().split('\n');
    expect(lines).toContain('sweep threw ERR_REAPER_CHILDREN_LIST');
    // Reported once, however often the background sweeps fail the same way.
    expect(lines.filter((line) => line.startsWith('error '))).toEqual([
      expect.stringMatching(/^error ERR_REAPER_CHILDREN_LIST cannot read the children list: \/proc\/self is unreadable \(ENOENT\)/),
    ]);
    // Node's own child was not taken: its exit arrived.
    expect(lines).toContain('exit 0');
  });
});
