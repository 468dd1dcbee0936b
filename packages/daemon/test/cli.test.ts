import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { bindUnixDatagram, close, receiveUnixDatagram } from '@x/sys';
import { flockFree, isAlive, scratchDir, startFixture, waitFor } from '@x/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { environOf, fixture, liveInSession, lockingFds, pidIn, pidsIn, proc, run } from './helpers.js';

const dir = scratchDir('x-daemon');
const cli = join(createRequire(import.meta.url).resolve('@x/daemon/package.json'), '..', 'dist', 'cli.js');
const xDaemon = (...args: string[]) => run([cli, ...args]);
const status = (pidFile: string) => spawnSync(process.execPath, [cli, 'status', '--pidfile', pidFile], { encoding: 'utf8' });
let counter = 0;
const fresh = (name: string) => join(dir, `${name}-${++counter}`);
// The PID file names the shell x-daemon starts the command with; sh -c then execs sleep in that process.
const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
const execedSleep = (pid: number) => waitFor(() => comm(pid) === 'sleep', { message: `pid ${pid} to exec sleep` });

// Whatever a test started through a PID file, stopped for sure before the next one.
const started: string[] = [];
afterEach(async () => {
  for (const pidFile of started.splice(0)) await xDaemon('stop', '--pidfile', pidFile, '--timeout', '1');
});
const startArgs = (pidFile: string, ...rest: string[]) => {
  started.push(pidFile);
  return ['start', '--pidfile', pidFile, ...rest];
};

describe('x-daemon start: the daemon is the command itself', () => {
  it('the PID file names the command, which holds its lock through an inherited fd; no Node process stays', async () => {
    const pidFile = fresh('sleeper.pid');
    const log = fresh('sleeper.log');
    expect(status(pidFile).status).toBe(3);
    const started = await xDaemon(...startArgs(pidFile, '--stdout', log, '--settle', '0.2', '--', 'sh', '-c', 'echo started; exec sleep 60'));
    expect(started).toMatchObject({ code: 0, stderr: '' });
    const pid = pidIn(pidFile);
    await execedSleep(pid);
    const facts = proc(pid);
    // A new session it does not lead, re-parented away from the caller, nothing else in it.
    expect(facts.sid).not.toBe(pid);
    expect(facts.pgid).toBe(facts.sid);
    expect(facts.ttyNr).toBe(0);
    expect(facts.ignoresIntOrQuit).toBe(false);
    expect(liveInSession(facts.sid)).toEqual([pid]);
    // The caller has exited; the command's own descriptor holds the lock.
    expect(lockingFds(pid, pidFile).length).toBeGreaterThan(0);
    expect(flockFree(pidFile)).toBe(false);
    expect(status(pidFile).status).toBe(0);
    await waitFor(() => readFileSync(log, 'utf8').includes('started'), { message: 'the command to log' });

    const again = await xDaemon('start', '--pidfile', pidFile, '--', 'sleep', '60');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`already running (pid ${pid})`);

    const restarted = await xDaemon('restart', '--pidfile', pidFile, '--settle', '0.1', '--', 'sleep', '60');
    expect(restarted.code).toBe(0);
    expect(isAlive(pid)).toBe(false);
    const second = pidIn(pidFile);
    expect(second).not.toBe(pid);

    const stopped = await xDaemon('stop', '--pidfile', pidFile);
    expect(stopped.code).toBe(0);
    expect(isAlive(second)).toBe(false);
    expect(status(pidFile).status).toBe(3);
    expect(existsSync(pidFile)).toBe(false);
    expect(await xDaemon('stop', '--pidfile', pidFile)).toMatchObject({ code: 0 });
  });

  it('fails the start of a command that exits while starting, or does not exist', async () => {
    const crashing = await xDaemon('start', '--pidfile', fresh('crash.pid'), '--', 'sh', '-c', 'exit 3');
    expect(crashing.code).toBe(1);
    expect(crashing.stderr).toContain('exited with code 3 while starting');
    const missing = await xDaemon('start', '--', 'x-no-such-command');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot run x-no-such-command');
  });

  it('waits for READY=1 with --notify', async () => {
    const pidFile = fresh('notify.pid');
    const log = fresh('notify.log');
    const gate = fresh('notify.gate');
    const caller = startFixture(cli, startArgs(pidFile, '--stdout', log, '--notify', '--', process.execPath, fixture('notify-child.mjs'), gate));
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('waiting'), { timeout: 10_000, message: 'the command to wait for its gate' });
    // The command runs and has not sent READY=1: start is still waiting for it.
    expect(isAlive(caller.pid)).toBe(true);
    expect(caller.stdout).toBe('');
    writeFileSync(gate, '');
    expect(await caller.exit()).toEqual({ code: 0, signal: null });
    expect(proc(pidIn(pidFile)).cmdline).toContain(fixture('notify-child.mjs'));
  });

  it.each([
    ['0o077', '0077'],
    ['0o022', '0022'],
    ['077', '0077'],
    ['0027', '0027'],
  ])('--umask %s gives the command umask %s', async (umask, expected) => {
    const pidFile = fresh('umask.pid');
    expect(await xDaemon(...startArgs(pidFile, '--umask', umask, '--settle', '0.05', '--', 'sleep', '60'))).toMatchObject({ code: 0 });
    expect(proc(pidIn(pidFile)).umask).toBe(expected);
  });

  it('--timeout shorter than the start: kills the whole tree it started, and says so', async () => {
    const pidFile = fresh('late.pid');
    const pids = fresh('late.pids');
    const tree = `sleep 600 & echo $! >> ${pids}; setsid sleep 600 & echo $! >> ${pids}; echo $$ >> ${pids}; exec sleep 600`;
    const result = await xDaemon('start', '--pidfile', pidFile, '--notify', '--timeout', '1', '--', 'sh', '-c', tree);
    expect(result.code).toBe(1);
    const all = await pidsIn(pids, 3);
    const command = all[2] as number;
    expect(result.stderr).toContain('was not ready after 1 s');
    expect(result.stderr).toContain(`killed it (pid ${command}) and the 2 processes it started`);
    // Gone before the caller exited: the kernel says so now.
    expect(all.filter(isAlive)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('a SIGTERM while starting ends what was started, and x-daemon dies by SIGTERM', async () => {
    const pidFile = fresh('interrupted.pid');
    const pids = fresh('interrupted.pids');
    const caller = startFixture(cli, ['start', '--pidfile', pidFile, '--settle', '20', '--', 'sh', '-c', `sleep 600 & echo $! >> ${pids}; echo $$ >> ${pids}; exec sleep 600`]);
    const all = await pidsIn(pids, 2);
    caller.child.kill('SIGTERM');
    const exit = await caller.exit();
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(all.filter(isAlive)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
  });
});

describe('x-daemon stop and status', () => {
  it('stop ends the whole tree: workers in its group and a child that escaped into a session of its own', async () => {
    const pidFile = fresh('tree.pid');
    const pids = fresh('tree.pids');
    const tree = `sleep 600 & echo $! >> ${pids}; setsid sleep 600 & echo $! >> ${pids}; echo $$ >> ${pids}; exec sleep 600`;
    expect(await xDaemon(...startArgs(pidFile, '--settle', '0.1', '--', 'sh', '-c', tree))).toMatchObject({ code: 0 });
    const all = await pidsIn(pids, 3);
    expect(all.every(isAlive)).toBe(true);
    const stopped = await xDaemon('stop', '--pidfile', pidFile);
    expect(stopped).toMatchObject({ code: 0, stdout: `stopped ${all[2]}\n` });
    expect(all.filter(isAlive)).toEqual([]);
  });

  it('stop SIGKILLs a command that ignores SIGTERM after --timeout, its whole group with it', async () => {
    const pidFile = fresh('stubborn.pid');
    const pids = fresh('stubborn.pids');
    // Ignored from before the pids are written, by the shell and (inherited) by both of its sleeps.
    const tree = `trap '' TERM; sleep 600 & echo $! >> ${pids}; echo $$ >> ${pids}; exec sleep 600`;
    expect(await xDaemon(...startArgs(pidFile, '--settle', '0.1', '--', 'sh', '-c', tree))).toMatchObject({ code: 0 });
    const all = await pidsIn(pids, 2);
    const pid = pidIn(pidFile);
    expect(all[1]).toBe(pid);
    const group = proc(pid).pgid;
    const stopped = await xDaemon('stop', '--pidfile', pidFile, '--timeout', '1');
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain(`${pid} ignored SIGTERM for 1 s; sent SIGKILL`);
    // Bounded: --timeout, then the kill itself (generous for a loaded machine).
    expect(stopped.ms).toBeLessThan(8000);
    expect(liveInSession(group)).toEqual([]);
    expect(all.filter(isAlive)).toEqual([]);
  });

  it('after kill -9 of the daemon: status says dead, start refuses while its tree runs, stop ends the tree, then start works', async () => {
    const pidFile = fresh('killed.pid');
    const pids = fresh('killed.pids');
    // The worker closes the inherited lock descriptor, as many daemons do with theirs.
    const tree = `sleep 600 4>&- & echo $! >> ${pids}; exec sleep 600`;
    expect(await xDaemon(...startArgs(pidFile, '--settle', '0.1', '--', 'sh', '-c', tree))).toMatchObject({ code: 0 });
    const [worker] = await pidsIn(pids, 1);
    const pid = pidIn(pidFile);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid), { message: 'the daemon to die' });

    const dead = status(pidFile);
    expect(dead.status).toBe(1);
    expect(dead.stdout).toContain('dead');
    expect(dead.stdout).toContain(`pids ${worker}`);

    const second = await xDaemon('start', '--pidfile', pidFile, '--settle', '0.1', '--', 'sleep', '60');
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`pid ${pid}) is dead`);
    expect(isAlive(worker as number)).toBe(true);
    // The refused start left the dead instance's files as they were.
    expect(status(pidFile).status).toBe(1);

    const stopped = await xDaemon('stop', '--pidfile', pidFile);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain(`pid ${pid} had died; ended the 1 process it left`);
    expect(isAlive(worker as number)).toBe(false);
    expect(status(pidFile).status).toBe(3);

    expect(await xDaemon(...startArgs(pidFile, '--settle', '0.1', '--', 'sleep', '60'))).toMatchObject({ code: 0 });
    expect(isAlive(pidIn(pidFile))).toBe(true);
  });

  it('a command that closes its inherited lock descriptor still counts as running, and is still stopped', async () => {
    const pidFile = fresh('closer.pid');
    expect(await xDaemon(...startArgs(pidFile, '--settle', '0.1', '--', 'sh', '-c', 'exec 4>&-; exec sleep 60'))).toMatchObject({ code: 0 });
    const pid = pidIn(pidFile);
    // Past `exec 4>&-` once it is sleep.
    await execedSleep(pid);
    expect(lockingFds(pid, pidFile)).toEqual([]);
    expect(status(pidFile).status).toBe(0);
    const again = await xDaemon('start', '--pidfile', pidFile, '--settle', '0.1', '--', 'sleep', '60');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`already running (pid ${pid})`);
    expect(await xDaemon('stop', '--pidfile', pidFile)).toMatchObject({ code: 0, stdout: `stopped ${pid}\n` });
    expect(isAlive(pid)).toBe(false);
  });

  it("stop signals only the PID file's owner when nothing proves its group: a script's background job", async () => {
    const pidFile = fresh('script.pid');
    // Its own group and session, like a script started from a terminal: a group kill would end it.
    const script = startFixture(fixture('script-with-job.sh'), [pidFile], { detached: true });
    const [shell, job] = (await script.nextLine()).split(' ').map(Number) as [number, number];
    await waitFor(() => existsSync(pidFile) && pidIn(pidFile) === job, { message: 'the job pid in the file' });
    try {
      const stopped = await xDaemon('stop', '--pidfile', pidFile, '--timeout', '1');
      expect(stopped.code).toBe(0);
      expect(stopped.stdout).toContain('only that pid was signalled');
      expect(isAlive(job)).toBe(false);
      expect(isAlive(shell)).toBe(true);
    } finally {
      process.kill(-shell, 'SIGKILL');
    }
  });

  it('stop while start is still starting waits for the start, then stops what it started', async () => {
    const pidFile = fresh('racing.pid');
    const starting = xDaemon('start', '--pidfile', pidFile, '--settle', '1.5', '--', 'sleep', '60');
    await waitFor(() => status(pidFile).stdout.startsWith('starting ('), { timeout: 10_000, message: 'the start to be under way' });
    const pid = pidIn(pidFile);
    const stopped = await xDaemon('stop', '--pidfile', pidFile, '--timeout', '10');
    expect((await starting).code).toBe(0);
    expect(stopped).toMatchObject({ code: 0, stdout: `stopped ${pid}\n` });
    expect(isAlive(pid)).toBe(false);
    expect(status(pidFile).status).toBe(3);
  });

  it('stop fails with "starting" when the start outlasts its --timeout', async () => {
    const pidFile = fresh('slow-start.pid');
    const starting = xDaemon(...startArgs(pidFile, '--settle', '8', '--', 'sleep', '60'));
    await waitFor(() => status(pidFile).stdout.startsWith('starting'), { timeout: 10_000, message: 'the start to be under way' });
    const stopped = await xDaemon('stop', '--pidfile', pidFile, '--timeout', '0.3');
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('still starting');
    expect((await starting).code).toBe(0);
    expect(status(pidFile).status).toBe(0);
  });

  it('status exits 0 running, 1 dead with a PID file left, 3 not running, 4 unknown', async () => {
    const pidFile = fresh('lsb.pid');
    expect(status(pidFile).status).toBe(3);
    const gone = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
    writeFileSync(pidFile, `${gone}\n`);
    expect(status(pidFile).status).toBe(1);
    const directory = fresh('lsb-dir.pid');
    mkdirSync(directory);
    const unknown = status(directory);
    expect(unknown.status).toBe(4);
    expect(unknown.stderr).toContain('status unknown');
    expect(await xDaemon(...startArgs(pidFile, '--settle', '0.05', '--', 'sleep', '60'))).toMatchObject({ code: 0 });
    expect(status(pidFile).status).toBe(0);
  });
});

describe('x-daemon under systemd', () => {
  it('run by a child of a notify service, it daemonizes and never speaks for the service', async () => {
    const address = `@x-daemon-test-cli-${process.pid}`;
    const socket = bindUnixDatagram(address);
    try {
      const pidFile = fresh('service-child.pid');
      // systemd started the test runner (SYSTEMD_EXEC_PID), not this x-daemon.
      const env = { ...process.env, NOTIFY_SOCKET: address, SYSTEMD_EXEC_PID: String(process.pid) };
      started.push(pidFile);
      const result = await run([cli, 'start', '--pidfile', pidFile, '--settle', '0.1', '--', 'sleep', '60'], env);
      expect(result.code).toBe(0);
      const pid = pidIn(pidFile);
      expect(environOf(pid).NOTIFY_SOCKET).toBeUndefined();
      expect(receiveUnixDatagram(socket)).toBeUndefined();
    } finally {
      close(socket);
    }
  });

  it('started by systemd itself (Type=notify), it sends READY=1 with MAINPID of the command', async () => {
    const address = `@x-daemon-test-cli-main-${process.pid}`;
    const socket = bindUnixDatagram(address);
    try {
      const pidFile = fresh('service.pid');
      started.push(pidFile);
      // SYSTEMD_EXEC_PID names the very process systemd started: x-daemon here.
      const command = `SYSTEMD_EXEC_PID=$$ exec "${process.execPath}" "${cli}" start --pidfile "${pidFile}" --settle 0.1 -- sleep 60`;
      const result = await startFixture('sh', ['-c', command], { env: { ...process.env, NOTIFY_SOCKET: address } }).exit();
      expect(result.code).toBe(0);
      const datagram = await waitFor(() => receiveUnixDatagram(socket)?.toString(), { message: 'READY=1 on the socket' });
      expect(datagram.split('\n').sort()).toEqual(['MAINPID=' + String(pidIn(pidFile)), 'READY=1']);
      expect(environOf(pidIn(pidFile)).NOTIFY_SOCKET).toBeUndefined();
    } finally {
      close(socket);
    }
  });
});

describe('x-daemon command line', () => {
  it('--settle is seconds with decimals: start waits that long before it calls the command ready', async () => {
    const pidFile = fresh('settle.pid');
    const result = await xDaemon(...startArgs(pidFile, '--settle', '0.6', '--', 'sleep', '60'));
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.ms).toBeGreaterThanOrEqual(600);
    expect(isAlive(pidIn(pidFile))).toBe(true);
  });

  it('--create-directory makes the PID file\'s directory; without it the message names the flag', async () => {
    const pidFile = join(fresh('run'), 'deeper', 'x.pid');
    const refused = await xDaemon('start', '--pidfile', pidFile, '--settle', '0.05', '--', 'sleep', '60');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`x-daemon: the directory of ${pidFile} does not exist; create it or pass --create-directory\n`);
    expect(await xDaemon(...startArgs(pidFile, '--create-directory', '--settle', '0.05', '--', 'sleep', '60'))).toMatchObject({ code: 0 });
    const pid = pidIn(pidFile);
    await execedSleep(pid);
    expect(lockingFds(pid, pidFile).length).toBeGreaterThan(0);
  });

  it('--version prints the version of @x/daemon and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('@x/daemon/package.json'), 'utf8')) as { version: string };
    expect(await xDaemon('--version')).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it.each([
    [['start'], 'start needs a command after --'],
    [['stop'], 'stop needs --pidfile'],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['start', '--bogus', '--', 'true'], "unknown option '--bogus'"],
    [['start', '--pidfile', '--', 'true'], "option '--pidfile' needs a value"],
    [['start', '--umask', '9', '--', 'true'], "--umask needs an octal mode like 022, 0022 or 0o022, got '9'"],
    [['start', '--umask', '0o1777', '--', 'true'], "--umask needs an octal mode like 022, 0022 or 0o022, got '0o1777'"],
    [['start', '--settle', '100ms', '--', 'true'], "--settle needs a number of seconds (like 10, 0.5 or 2m), got '100ms'"],
    [['stop', '--pidfile', 'x.pid', '--timeout', '0'], "--timeout needs a number of seconds above 0 (like 10, 0.5 or 2m), got '0'"],
    [['status', '--pidfile', 'x.pid', '--timeout', '1'], 'status takes no --timeout'],
    [['stop', '--pidfile', 'x.pid', '--', 'true'], 'stop takes no command'],
  ])('%j exits 2 with one line naming the problem, then the usage line', async (args, line) => {
    const result = await xDaemon(...args);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')).toEqual([`x-daemon: ${line}`, expect.stringMatching(/^usage: x-daemon start\|stop\|status\|restart /), '']);
  });
});
