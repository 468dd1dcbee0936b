import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { read } from '@x/lifecycle';
import { isAlive, isZombie, parentOf, pidExists, scratchDir, startFixture, waitFor } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

// This app's own build (it has no bin to go through).
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const dir = scratchDir('x-demo-test');
const env = { ...process.env, X_DEMO_DIR: join(dir, 'demo'), NO_COLOR: '1' };

async function demo(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startFixture(process.execPath, [cli, ...args], { env });
  const { code } = await run.exit(30_000);
  return { code, stdout: run.stdout, stderr: run.stderr };
}

describe('the tour', () => {
  it('passes every step and leaves nothing behind', async () => {
    const tour = await demo('tour');
    expect(tour.stdout).not.toContain('✘');
    expect(tour.stdout).toMatch(/✔ (\d) of \1 steps passed/);
    expect(tour.code).toBe(0);
    expect(existsSync(join(dir, 'demo'))).toBe(false);
  });
});

describe('daemon + pidfile', () => {
  it('keeps a single instance, and takes over at once after the supervisor was SIGKILLed', async () => {
    const pidFile = join(dir, 'demo', 'supervisor.pid');
    expect((await demo('start')).code).toBe(0);
    const first = read(pidFile);
    expect(first.status).toBe('running');
    const pid = first.status === 'running' ? first.pid : 0;
    const second = await demo('start');
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`already running (pid ${pid})`);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid), { message: 'the supervisor to die' });
    expect(read(pidFile)).toMatchObject({ status: 'stale', reason: 'unlocked' });
    expect((await demo('status')).code).toBe(1);
    expect((await demo('start')).code).toBe(0);
    expect((await demo('stop')).code).toBe(0);
    expect((await demo('status')).code).toBe(3);
  });
});

describe('procgroup + parentdeath', () => {
  it.each([
    ['watchdog', 'owner-watchdog.mjs'],
    ['parentdeath', 'owner-parentdeath.mjs'],
  ])('a worker dies with its SIGKILLed owner through %s alone', async (mode, file) => {
    const owner = startFixture(fixture(file));
    const worker = Number(await owner.nextLine());
    expect(isAlive(worker)).toBe(true);
    owner.child.kill('SIGKILL');
    await owner.exit();
    await waitFor(() => !isAlive(worker), { timeout: 3000, message: `the worker to die through ${mode}` });
  });
});

describe('reaper + procgroup', () => {
  it('a subreaper adopts and reaps what escaped a group it killed', async () => {
    const owner = startFixture(fixture('reaping-owner.mjs'));
    const escapee = Number((await owner.nextLine()).split(' ')[1]);
    // Members orphaned by the kill may be reaped (and say so) before kill() has resolved: no line order.
    await waitFor(() => owner.stdout.includes('group killed\n'), { message: 'the group to be killed' });
    expect(parentOf(escapee)).toBe(owner.pid);
    expect(isAlive(escapee)).toBe(true);
    // Adopted while it runs; now its end is ours to cause, and the owner must reap it.
    process.kill(escapee, 'SIGKILL');
    // Killed members whose parent died first are orphans too, and are reaped as well; wait for ours.
    await waitFor(() => owner.stdout.includes(`reaped ${escapee}\n`), { message: 'the escapee to be reaped' });
    expect(pidExists(escapee)).toBe(false);
    owner.child.kill('SIGKILL');
  });
});

describe('daemon + reaper', () => {
  it('a daemon that is its own subreaper collects its orphans', async () => {
    const report = join(dir, 'reaping-daemon.json');
    const caller = spawnSync(process.execPath, [fixture('reaping-daemon.mjs'), report], { encoding: 'utf8', timeout: 30_000 });
    expect(caller.status, caller.stderr).toBe(0);
    const { pid, reaped } = JSON.parse(readFileSync(report, 'utf8')) as { pid: number; reaped: number };
    expect(reaped).toBe(20);
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(' ').filter(Boolean).map(Number);
    expect(children.filter(isZombie)).toEqual([]);
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !isAlive(pid), { message: 'the daemon to stop' });
  });
});
