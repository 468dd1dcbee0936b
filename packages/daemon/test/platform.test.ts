import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { binPath, flockFree, isAlive, mountNamespaces, parentOf, runsProgram, sampleProcesses, scratchDir, sessionOf, startSimulated, waitFor, type Sampled, type Simulation } from '@x/test-utils';
import { afterEach, describe, expect, it } from 'vitest';

// daemonize() in a process that reports another platform, whose C library lacks the Linux-only
// symbols and whose /proc is hidden (@x/test-utils' startSimulated). This checks @x/daemon's own
// platform branches, not macOS or Windows themselves. The test itself reads the real /proc: every
// process a run starts carries a variable of its own, and the test counts them.

const dir = scratchDir('x-daemon-platform');
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

/** Whether the environment of `pid` holds `needle` (`\0NAME=value\0`). */
function carries(pid: number, needle: Buffer): boolean {
  try {
    return Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${pid}/environ`)]).includes(needle);
  } catch {
    // Gone while we looked.
    return false;
  }
}

/**
 * The processes of a run: the live ones whose environment has X_PLATFORM_RUN=`token` and that run
 * `program` (the caller, the sh session leader and the daemon, not helpers such as mount(8)), sampled,
 * and every Node stage of the program, which records its pid in `<scratch>/stages` as it starts: a
 * sample can miss a stage that refuses and exits at once.
 */
function count(token: string, program: string, scratch: string): Sampled {
  const needle = Buffer.from(`\0X_PLATFORM_RUN=${token}\0`);
  const pids = () => readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  const sampled = sampleProcesses(() => pids().filter((pid) => carries(pid, needle) && runsProgram(pid, program) && isAlive(pid)));
  const stages = join(scratch, 'stages');
  return {
    get seen() {
      const recorded = existsSync(stages) ? readFileSync(stages, 'latin1').split('\n').filter(Boolean).map(Number) : [];
      return new Set([...sampled.seen, ...recorded]);
    },
    stop: () => sampled.stop(),
  };
}

const runs: Sampled[] = [];
afterEach(() => {
  // Whatever a run left: ended here, so that one failure does not leak into the next test.
  for (const run of runs.splice(0)) for (const pid of run.stop()) process.kill(pid, 'SIGKILL');
});

async function daemonize(simulation: Simulation, options: object = {}, program = 'platform-daemonize.mjs') {
  const scratch = mkdtempSync(join(dir, `${simulation.platform}-`));
  const token = randomBytes(8).toString('hex');
  const counted = count(token, program, scratch);
  runs.push(counted);
  const caller = startSimulated(simulation, fixture(program), [scratch, JSON.stringify(options)], { env: { X_PLATFORM_RUN: token } });
  const exit = await caller.exit(30_000);
  const report = join(scratch, 'daemon.json');
  const daemon = existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as { pid: number; stage: string; platform: string; child?: number }) : undefined;
  return { caller, exit, line: caller.stdout.trim(), daemon, counted, scratch };
}

describe.runIf(mountNamespaces.ok)('daemonize() on "Windows" (simulated)', () => {
  it('refuses with ERR_X_UNSUPPORTED_PLATFORM before starting any process', async () => {
    const { exit, line, daemon, counted } = await daemonize({ platform: 'win32' });
    expect(exit).toEqual({ code: 0, signal: null });
    expect(line).toMatch(/^ERR_X_UNSUPPORTED_PLATFORM daemonize\(\) cannot detach on win32: it needs POSIX sessions .* pass \{ foreground: true \}$/);
    expect(daemon).toBeUndefined();
    // Only the caller itself ever ran: nothing was started again.
    expect(counted.seen.size).toBe(1);
    expect(counted.stop()).toEqual([]);
  });

  it('with { foreground: true } the process becomes the daemon in place', async () => {
    const scratch = mkdtempSync(join(dir, 'win32-fg-'));
    const token = randomBytes(8).toString('hex');
    const counted = count(token, 'platform-daemonize.mjs', scratch);
    runs.push(counted);
    const caller = startSimulated({ platform: 'win32' }, fixture('platform-daemonize.mjs'), [scratch, JSON.stringify({ foreground: true })], { env: { X_PLATFORM_RUN: token } });
    const report = join(scratch, 'daemon.json');
    await waitFor(() => existsSync(report), { timeout: 20_000, message: `the daemon report (stderr: ${caller.stderr})` });
    expect(JSON.parse(readFileSync(report, 'utf8'))).toEqual({ pid: caller.pid, stage: 'daemon', platform: 'win32' });
    caller.child.kill('SIGTERM');
    expect(await caller.exit(10_000)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(counted.seen.size).toBe(1);
    expect(counted.stop()).toEqual([]);
  });
});

describe.runIf(mountNamespaces.ok)('daemonize() on "macOS" (simulated)', () => {
  it('detaches in three stages at most: a new session it does not lead, a locked PID file, the caller exits 0', async () => {
    const pidFile = join(mkdtempSync(join(dir, 'darwin-pid-')), 'd.pid');
    const { exit, daemon, counted, caller } = await daemonize({ platform: 'darwin' }, { pidFile });
    expect(exit, caller.stderr).toEqual({ code: 0, signal: null });
    expect(daemon).toMatchObject({ stage: 'daemon', platform: 'darwin' });
    const pid = daemon?.pid as number;
    expect(isAlive(pid)).toBe(true);
    expect(sessionOf(pid)).not.toBe(pid);
    expect(sessionOf(pid)).not.toBe(sessionOf(caller.pid) ?? sessionOf(process.pid));
    expect(parentOf(pid)).not.toBe(caller.pid);
    expect(Number(readFileSync(pidFile, 'latin1'))).toBe(pid);
    expect(flockFree(pidFile)).toBe(false);
    // The caller, the sh session leader and the daemon: never a fourth.
    expect(counted.seen.size).toBeLessThanOrEqual(3);
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !isAlive(pid), { message: `daemon ${pid} to stop` });
    expect(counted.stop()).toEqual([]);
    expect(flockFree(pidFile)).toBe(true);
  });

  it('a daemon that fails: the caller exits 1 and ends it and the process it started', async () => {
    const { exit, daemon, counted, caller } = await daemonize({ platform: 'darwin' }, {}, 'platform-daemonize-fails.mjs');
    expect(exit).toEqual({ code: 1, signal: null });
    expect(caller.stderr).toContain('daemon failed to start: the database is unreachable');
    expect(daemon?.child).toBeTypeOf('number');
    await waitFor(() => !isAlive(daemon?.pid as number) && !isAlive(daemon?.child as number), { message: 'the daemon and its sleep to be ended' });
    expect(counted.seen.size).toBeLessThanOrEqual(3);
    expect(counted.stop()).toEqual([]);
  });

  it('capture refuses with ERR_X_UNSUPPORTED_PLATFORM (no pipe2) before starting any process', async () => {
    const { exit, line, counted } = await daemonize({ platform: 'darwin' }, { capture: true });
    expect(exit).toEqual({ code: 0, signal: null });
    expect(line).toBe('ERR_X_UNSUPPORTED_PLATFORM capture needs pipe2(), which only Linux has (this is darwin): pass stdout and stderr log files instead');
    expect(counted.seen.size).toBe(1);
  });

  it('without a usable C library (no getsid) refuses with ERR_DAEMON_STAGE instead of re-running itself', async () => {
    const { exit, line, counted } = await daemonize({ platform: 'darwin', libraries: [] });
    expect(exit).toEqual({ code: 0, signal: null });
    expect(line).toMatch(/^ERR_DAEMON_STAGE daemonize\(\) cannot tell its stages apart: neither \/proc nor getsid\(\) .*\(cannot load the C library .*; mount \/proc, or pass \{ foreground: true \}$/);
    expect(counted.seen.size).toBe(1);
    expect(counted.stop()).toEqual([]);
  });
});

describe.runIf(mountNamespaces.ok)('daemonize() on Linux without /proc (simulated)', () => {
  it('finds its session with getsid() and detaches in three stages at most', async () => {
    const { exit, daemon, counted, caller } = await daemonize({ platform: 'linux' });
    expect(exit, caller.stderr).toEqual({ code: 0, signal: null });
    expect(daemon).toMatchObject({ stage: 'daemon', platform: 'linux' });
    const pid = daemon?.pid as number;
    expect(sessionOf(pid)).not.toBe(pid);
    expect(counted.seen.size).toBeLessThanOrEqual(3);
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !isAlive(pid), { message: `daemon ${pid} to stop` });
    expect(counted.stop()).toEqual([]);
  });
});

describe.runIf(mountNamespaces.ok)('x-daemon off Linux (simulated)', () => {
  const xDaemon = (simulation: Simulation, ...args: string[]) => startSimulated(simulation, binPath(import.meta.url, '@x/daemon', 'x-daemon'), args);

  it('on "Windows" refuses in one line before starting anything', async () => {
    const pidFile = join(mkdtempSync(join(dir, 'xd-win32-')), 'sleeper.pid');
    const start = xDaemon({ platform: 'win32' }, 'start', '--pidfile', pidFile, '--', 'sleep', '600');
    expect(await start.exit(20_000)).toEqual({ code: 1, signal: null });
    expect(start.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^x-daemon: needs a POSIX system .* this is Windows/)]);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('on "macOS" stop ends the daemon as soon as it is gone and exits 0', async () => {
    const pidFile = join(mkdtempSync(join(dir, 'xd-darwin-')), 'sleeper.pid');
    const start = xDaemon({ platform: 'darwin' }, 'start', '--pidfile', pidFile, '--', 'sleep', '600');
    expect(await start.exit(20_000), start.stderr).toEqual({ code: 0, signal: null });
    const pid = Number(readFileSync(pidFile, 'latin1'));
    expect(isAlive(pid)).toBe(true);
    const began = performance.now();
    const stop = xDaemon({ platform: 'darwin' }, 'stop', '--pidfile', pidFile, '--timeout', '20');
    expect(await stop.exit(30_000), stop.stderr).toEqual({ code: 0, signal: null });
    // Well before --timeout: stop saw the daemon go instead of waiting the timeout out.
    expect(performance.now() - began).toBeLessThan(10_000);
    expect(isAlive(pid)).toBe(false);
  });
});
