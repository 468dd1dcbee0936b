import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { flockFree, isAlive, scratchDir, startFixture, waitFor } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { fixture, pidIn, proc, run, stopDaemon } from './helpers.js';

const dir = scratchDir('x-daemon');
let counter = 0;
const fresh = (name: string) => join(dir, `${name}-${++counter}`);
const daemonArgs = (options: object, program = 'becomes-ready.mjs') => [fixture(program), JSON.stringify(options)];

describe('daemonize', () => {
  it('detaches for real: new session it does not lead, no tty, cwd /, umask 022, stdio on /dev/null, locked PID file', async () => {
    const pidFile = fresh('pid');
    const report = fresh('report');
    const caller = await run(daemonArgs({ pidFile, report }));
    expect(caller.code).toBe(0);
    const pid = pidIn(pidFile);
    const facts = proc(pid);
    expect(JSON.parse(readFileSync(report, 'utf8'))).toMatchObject({ pid, stage: 'daemon' });
    expect(facts.ppid).not.toBe(process.pid);
    expect(facts.sid).not.toBe(pid);
    expect(facts.pgid).not.toBe(pid);
    expect(facts.ttyNr).toBe(0);
    expect(facts.cwd).toBe('/');
    expect(facts.umask).toBe('0022');
    expect(facts.ignoresIntOrQuit).toBe(false);
    expect([facts.fd(0), facts.fd(1), facts.fd(2)]).toEqual(['/dev/null', '/dev/null', '/dev/null']);
    // The readiness pipe is closed once ready.
    expect(facts.fd(3) ?? 'closed').not.toMatch(/^pipe:/);
    expect(flockFree(pidFile)).toBe(false);
    await stopDaemon(pid);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('keeps Node options across the re-executions, and honours cwd, umask and log files', async () => {
    const pidFile = fresh('pid');
    const log = fresh('log');
    writeFileSync(log, 'earlier line\n');
    const caller = await run(daemonArgs({ pidFile, stdout: log, stderr: log, cwd: dir, umask: 0o027 }), process.env, ['--no-warnings']);
    expect(caller.code).toBe(0);
    const pid = pidIn(pidFile);
    const facts = proc(pid);
    expect(facts.cmdline).toContain('--no-warnings');
    expect(facts.cwd).toBe(dir);
    expect(facts.umask).toBe('0027');
    expect(facts.fd(1)).toBe(log);
    expect(facts.fd(2)).toBe(log);
    await stopDaemon(pid);
    expect(readFileSync(log, 'utf8')).toMatch(/^earlier line\n/);
  });

  it('captures its own output into readable streams', async () => {
    const report = fresh('report');
    const pidFile = fresh('pid');
    expect(await run(daemonArgs({ capture: true, report, pidFile }, 'captures-output.mjs'))).toMatchObject({ code: 0 });
    expect(JSON.parse(readFileSync(report, 'utf8'))).toMatchObject({ captured: 'hello from the daemon\n' });
    await stopDaemon(pidIn(pidFile));
  });

  it('hands open files down with their locks, and restores a variable of the same name as the marker', async () => {
    const locked = fresh('locked');
    const report = fresh('report');
    const caller = await run([fixture('files.mjs'), locked, report], { ...process.env, X_DAEMON_STAGE: 'mine' });
    expect(caller.code).toBe(0);
    const { pid, files, marker } = JSON.parse(readFileSync(report, 'utf8')) as { pid: number; files: number[]; marker: string };
    expect(files).toHaveLength(1);
    expect(proc(pid).fd(files[0] as number)).toBe(locked);
    // The caller has exited; the daemon still holds the lock through the inherited descriptor.
    expect(flockFree(locked)).toBe(false);
    expect(marker).toBe('mine');
    await stopDaemon(pid);
    // Released once the last of its threads has exited.
    await waitFor(() => flockFree(locked), { message: 'the lock to be released with the daemon' });
  });

  it('is not fooled by a forged stage marker', async () => {
    const pidFile = fresh('pid');
    const forged = JSON.stringify({ stage: 'daemon', from: 1, fds: { ready: 3, files: [] } });
    const caller = await run(daemonArgs({ pidFile }), { ...process.env, X_DAEMON_STAGE: forged });
    expect(caller.code).toBe(0);
    const pid = pidIn(pidFile);
    expect(proc(pid).sid).not.toBe(pid);
    await stopDaemon(pid);
  });
});

describe('readiness', () => {
  it.each([
    ['throws before ready()', 'throws-before-ready.mjs', 'config file is broken'],
    ['calls fail()', 'fails-before-ready.mjs', 'database unreachable'],
  ])('the caller exits 1 with the reason when the daemon %s', async (_, program, reason) => {
    const pidFile = fresh('pid');
    const caller = await run(daemonArgs({ pidFile }, program));
    expect(caller.code).toBe(1);
    expect(caller.stderr).toContain(reason);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('the caller exits 1 at the timeout and the daemon is killed', async () => {
    const pidFile = fresh('pid');
    const caller = await run(daemonArgs({ pidFile, timeout: 500 }, 'never-ready.mjs'));
    expect(caller.code).toBe(1);
    expect(caller.stderr).toContain('not ready after 500 ms');
    expect(existsSync(pidFile)).toBe(false);
  });

  it('a daemon SIGKILLed before it is ready: the caller exits 1, and no lock or running instance is left', async () => {
    const pidFile = fresh('pid');
    const caller = run(daemonArgs({ pidFile }, 'never-ready.mjs'));
    // The daemon writes its pid into the file as soon as it has taken it over.
    const daemonPid = () => {
      const pid = existsSync(pidFile) ? pidIn(pidFile) : 0;
      // At first the file names the caller (our child); the daemon's parent is not us.
      return pid > 0 && isAlive(pid) && proc(pid).ppid !== process.pid ? pid : 0;
    };
    await waitFor(daemonPid, { message: 'the daemon to take over the PID file' });
    const pid = daemonPid();
    process.kill(pid, 'SIGKILL');
    const result = await caller;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('exited before it was ready');
    expect(existsSync(pidFile)).toBe(false);
    expect(flockFree(pidFile)).toBe(true);
  });

  it('a caller SIGKILLed while waiting exits non-zero; the daemon it started still holds the only lock', async () => {
    const pidFile = fresh('pid');
    const caller = spawn(process.execPath, daemonArgs({ pidFile }, 'never-ready.mjs'), { stdio: 'ignore' });
    const daemonPid = () => {
      const pid = existsSync(pidFile) ? pidIn(pidFile) : 0;
      return pid > 0 && pid !== caller.pid && isAlive(pid) ? pid : 0;
    };
    await waitFor(daemonPid, { message: 'the daemon to take over the PID file' });
    const pid = daemonPid();
    caller.kill('SIGKILL');
    expect(await new Promise((resolve) => caller.once('exit', (_, signal) => { resolve(signal); }))).toBe('SIGKILL');
    // The daemon is the one holder: a second start is refused, naming it.
    const second = await run(daemonArgs({ pidFile }));
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`already running (pid ${pid})`);
    await stopDaemon(pid);
    await waitFor(() => flockFree(pidFile), { message: 'the lock to be released' });
  });

  it('exactly one of many concurrent starts wins; the others hear who runs', async () => {
    const pidFile = fresh('pid');
    const callers = await Promise.all(Array.from({ length: 5 }, () => run(daemonArgs({ pidFile }))));
    expect(callers.filter((caller) => caller.code === 0)).toHaveLength(1);
    const pid = pidIn(pidFile);
    for (const caller of callers.filter((entry) => entry.code !== 0)) expect(caller.stderr).toContain(`already running (pid `);
    expect(isAlive(pid)).toBe(true);
    await stopDaemon(pid);
  });
});

describe('bad input', () => {
  it.each([
    ['a log file in a missing directory', { stdout: '/nonexistent/dir/out.log' }, 'daemon failed to start: cannot open the log file /nonexistent/dir/out.log: its directory does not exist\n'],
    ['a PID file that is a directory', { pidFile: '/tmp' }, 'daemon failed to start: /tmp is a directory; pass the path of a file inside it\n'],
  ])('reports %s in one line from the caller, before anything forks', async (_, options, line) => {
    const caller = await run(daemonArgs(options));
    expect(caller).toMatchObject({ code: 1, stderr: line });
  });

  it.each([
    ['a zero timeout', { timeout: 0 }],
    ['an impossible umask', { umask: 0o1777 }],
  ])('throws ERR_DAEMON_BAD_OPTION for %s: a programming error', async (_, options) => {
    const caller = await run(daemonArgs(options));
    expect(caller.code).toBe(1);
    expect(caller.stderr).toContain('ERR_DAEMON_BAD_OPTION');
  });
});

describe('failures end everything the daemon started', () => {
  it.each([
    ['calls fail()', 'spawns-then-fails.mjs', {}, 'workers would not come up'],
    ['is not ready in time', 'spawns-never-ready.mjs', { timeout: 1500 }, 'not ready after 1500 ms'],
  ])('the daemon %s: it and its children (in its group and detached) are gone before the caller exits 1', async (_, program, options, reason) => {
    const pidFile = fresh('pid');
    const report = fresh('report');
    const caller = await run(daemonArgs({ pidFile, report, ...options }, program));
    expect(caller.code).toBe(1);
    expect(caller.stderr).toContain(reason);
    const { pid, children } = JSON.parse(readFileSync(report, 'utf8')) as { pid: number; children: number[] };
    expect(children).toHaveLength(2);
    expect([pid, ...children].filter(isAlive)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('with capture, fail() ends the daemon at once', async () => {
    const report = fresh('report');
    const caller = await run(daemonArgs({ capture: true, report }, 'fails-after-capture.mjs'));
    expect(caller.code).toBe(1);
    expect(caller.stderr).toContain('did not like what it read');
    const { pid } = JSON.parse(readFileSync(report, 'utf8')) as { pid: number };
    expect(isAlive(pid)).toBe(false);
  });

  it('with capture, process.exit() in a daemon that read its stdout exits', async () => {
    const report = fresh('report');
    expect(await run(daemonArgs({ capture: true, report }, 'exits-after-capture.mjs'))).toMatchObject({ code: 0 });
    const { pid, captured } = JSON.parse(readFileSync(report, 'utf8')) as { pid: number; captured: string };
    expect(captured).toBe('hello from the daemon\n');
    await waitFor(() => !isAlive(pid), { timeout: 10_000, message: 'the daemon to exit' });
  });
});

describe('errors in the caller', () => {
  it('Node gone (replaced by an upgrade): the caller gets a DaemonError, not an unhandled error event', async () => {
    const node = fresh('node');
    copyFileSync(process.execPath, node);
    chmodSync(node, 0o755);
    for (const [options, expected] of [
      [{ exitOnError: false }, 'rejected DaemonError ERR_DAEMON_EXEC'],
      [{}, undefined],
    ] as const) {
      copyFileSync(process.execPath, node);
      const caller = startFixture(node, [fixture('node-gone.mjs'), JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] });
      expect(await caller.nextLine()).toBe('ready');
      unlinkSync(node);
      caller.child.stdin?.end('go\n');
      const exit = await caller.exit();
      if (expected === undefined) {
        expect(exit.code).toBe(1);
        expect(caller.stderr).toMatch(/^daemon failed to start: cannot start Node again: \S+ is gone or not executable[^\n]*\n$/);
      } else {
        expect(exit.code).toBe(0);
        expect(await caller.nextLine()).toBe(expected);
      }
    }
  });

  it('a caller that catches ERR_DAEMON_RUNNING keeps no log file open', async () => {
    const pidFile = fresh('pid');
    const log = fresh('log');
    expect(await run(daemonArgs({ pidFile }))).toMatchObject({ code: 0 });
    try {
      const caller = await run([fixture('catch-running.mjs'), pidFile, log]);
      const { code, open } = JSON.parse(caller.stdout) as { code: string; open: string[] };
      expect(code).toBe('ERR_DAEMON_RUNNING');
      expect(open).not.toContain(log);
      expect(open).not.toContain(pidFile);
    } finally {
      await stopDaemon(pidIn(pidFile));
    }
  });

  it('"already running" is one line on stderr, as the README shows', async () => {
    const pidFile = fresh('pid');
    expect(await run(daemonArgs({ pidFile }))).toMatchObject({ code: 0 });
    const pid = pidIn(pidFile);
    try {
      const second = await run(daemonArgs({ pidFile }));
      expect(second).toMatchObject({ code: 1, stderr: `daemon failed to start: already running (pid ${pid}): ${pidFile} is locked\n` });
    } finally {
      await stopDaemon(pid);
    }
  });
});
