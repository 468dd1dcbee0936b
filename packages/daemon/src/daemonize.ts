import { spawn, type StdioOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import { closeSync, constants, createReadStream, openSync, writeSync, type ReadStream } from 'node:fs';
import { debuglog } from 'node:util';
import { acquire, adopt, PidFileLockedError, type PidFile } from '@x/pidfile';
import { pipe, readProcStat } from '@x/sys';
import { DaemonError } from './errors.js';
import { notify } from './notify.js';
import { becomeDaemon, consumeMarker, MARKER, type Marker } from './stage.js';

const debug = debuglog('x:daemon');

export interface DaemonizeOptions {
  /** Take this PID file (locked) before detaching; it ends up holding the daemon's pid. */
  pidFile?: string;
  /** Where the daemon's stdout goes: a file (appended, created 0640), or undefined for /dev/null. */
  stdout?: string;
  /** Where the daemon's stderr goes: a file (appended, created 0640), or undefined for /dev/null. */
  stderr?: string;
  /** Give the daemon readable streams of its own stdout and stderr (godaemon's CaptureOutput). */
  capture?: boolean;
  /** Open file descriptors of the caller to hand to the daemon (locks on them stay held). */
  files?: readonly number[];
  /** The daemon's working directory (default '/'). */
  cwd?: string;
  /** The daemon's umask (default 0o022). */
  umask?: number;
  /** Ms the original process waits for ready() before it gives up, kills the daemon and fails (default 30 000). */
  timeout?: number;
  /** Wait for ready() (default true); false exits the original process as soon as the daemon is on its way. */
  wait?: boolean;
  /** Do not fork: become the daemon in place (also the case whenever NOTIFY_SOCKET is set: systemd supervises). */
  foreground?: boolean;
}

/** The running daemon, as daemonize() returns it. */
export interface Daemon {
  readonly pid: number;
  /** The PID file, adopted from the original process, holding this pid. */
  readonly pidFile: PidFile | undefined;
  /** With `capture`: what this process writes to its stdout and stderr. */
  readonly stdout: ReadStream | undefined;
  readonly stderr: ReadStream | undefined;
  /** The descriptors passed in `files`, as numbered in this process (same order). */
  readonly files: readonly number[];
  /** Tells the original process (and systemd, when supervised) that the daemon is ready; it exits 0. */
  ready(status?: string): void;
  /** Tells the original process that starting failed (it prints the reason and exits 1), then exits 1. */
  fail(error: unknown): never;
}

const DEFAULT_TIMEOUT = 30_000;
const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_CLOEXEC = 0 } = constants as typeof constants & { O_CLOEXEC?: number };

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

function validate(options: DaemonizeOptions): void {
  const { timeout = DEFAULT_TIMEOUT, umask = 0o022, files = [] } = options;
  if (!Number.isFinite(timeout) || timeout <= 0) throw new DaemonError('ERR_DAEMON_BAD_OPTION', `timeout must be a positive number of ms, got ${timeout}`);
  if (!Number.isInteger(umask) || umask < 0 || umask > 0o777) throw new DaemonError('ERR_DAEMON_BAD_OPTION', `umask must be an integer from 0 to 0o777, got ${umask}`);
  for (const fd of files) if (!Number.isInteger(fd) || fd < 0) throw new DaemonError('ERR_DAEMON_BAD_OPTION', `files must be open file descriptors, got ${fd}`);
  if (options.capture === true && (options.stdout !== undefined || options.stderr !== undefined)) {
    throw new DaemonError('ERR_DAEMON_BAD_OPTION', 'capture and stdout/stderr files exclude each other: output goes to one place');
  }
}

function openLog(path: string): number {
  try {
    return openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o640);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' ? 'no permission to write it' : message(error);
    throw new DaemonError('ERR_DAEMON_LOG', `cannot open the log file ${path}: ${hint}`, { cause: error });
  }
}

/** Re-runs this program (same Node options and arguments) with `marker` and the given stdio. */
function rerun(marker: Marker, stdio: StdioOptions, detached: boolean) {
  const original = consumeMarker().marker?.original ?? process.env[MARKER];
  return spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio,
    detached,
    env: { ...process.env, [MARKER]: JSON.stringify({ ...marker, ...(original === undefined ? {} : { original }) }) },
  });
}

/**
 * Turns this program into a daemon by running it again from the start, in three stages (parent ->
 * session leader -> daemon, like godaemon): the daemon is in a new session but does not lead it, so
 * it can never acquire a controlling terminal. Resolves only in the daemon; there it has cwd '/',
 * umask 0o022, stdin from /dev/null and stdout/stderr to /dev/null, to log files, or captured.
 *
 * The original process waits until the daemon calls ready() and exits 0; if the daemon calls fail(),
 * throws or exits before that, or the timeout passes, it prints why to its stderr and exits 1. With
 * `pidFile`, the PID file is locked before anything forks — "already running" rejects right here, with
 * ERR_DAEMON_RUNNING — and the lock is handed down to the daemon without ever lapsing.
 *
 * When NOTIFY_SOCKET is set (systemd Type=notify) or `foreground` is, nothing forks: this process is
 * the daemon, and ready() notifies systemd. Linux and macOS.
 */
export async function daemonize(options: DaemonizeOptions = {}): Promise<Daemon> {
  validate(options);
  const { stage, marker } = consumeMarker();
  if (stage === 'child' && marker !== undefined) return runChild(marker);
  if (stage === 'daemon' && marker !== undefined) return runDaemon(marker, options);
  if (options.foreground === true || (process.env.NOTIFY_SOCKET ?? '') !== '') return runForeground(options);
  return runParent(options);
}

async function runParent(options: DaemonizeOptions): Promise<never> {
  const { timeout = DEFAULT_TIMEOUT, wait = true, files = [] } = options;
  // Everything that can fail for a reason the caller can fix fails here, before anything forks.
  const stdoutFd = options.stdout === undefined ? undefined : openLog(options.stdout);
  const stderrFd = options.stderr === undefined ? undefined : stdoutFd !== undefined && options.stderr === options.stdout ? stdoutFd : openLog(options.stderr);
  let pidFile: PidFile | undefined;
  if (options.pidFile !== undefined) {
    try {
      pidFile = await acquire(options.pidFile, { removeOnExit: false });
    } catch (error) {
      if (error instanceof PidFileLockedError) {
        throw new DaemonError('ERR_DAEMON_RUNNING', `already running${error.pid === undefined ? '' : ` (pid ${error.pid})`}: ${options.pidFile} is locked`, { cause: error, ...(error.pid === undefined ? {} : { pid: error.pid }) });
      }
      throw error;
    }
  }
  const capture = options.capture === true ? [pipe(), pipe()] : undefined;
  // Descriptor layout of the next stages: 0-2 stdio, 3 readiness (a pipe child_process makes), then the
  // PID file, the capture read ends, then the caller's files.
  const passed: (number | 'pipe')[] = ['pipe'];
  const at = (fd: number) => 3 + passed.push(fd) - 1;
  const fds = {
    ready: 3,
    ...(pidFile === undefined ? {} : { pidFile: at(pidFile.fd) }),
    ...(capture === undefined ? {} : { stdout: at(capture[0]?.[0] as number), stderr: at(capture[1]?.[0] as number) }),
    files: files.map((fd) => at(fd)),
  };
  const stdout = capture?.[0]?.[1] ?? stdoutFd ?? 'ignore';
  const stderr = capture?.[1]?.[1] ?? stderrFd ?? 'ignore';
  const child = rerun({ stage: 'child', from: process.pid, fds, ...(options.pidFile === undefined ? {} : { pidFile: options.pidFile }) }, ['ignore', stdout, stderr, ...passed], true);
  child.unref();
  // Only the next stages keep these open now.
  for (const fd of [...(capture?.flat() ?? []), ...(stdoutFd === undefined ? [] : [stdoutFd]), ...(stderrFd === undefined || stderrFd === stdoutFd ? [] : [stderrFd])]) closeSync(fd);
  if (!wait) process.exit(0);
  const outcome = await awaitReadiness(child.stdio[3] as Readable, timeout);
  if (outcome.ready) process.exit(0);
  process.stderr.write(`daemon failed to start: ${outcome.reason}\n`);
  // The daemon is gone (or was just killed): the lock is ours alone again, and the file is stale.
  if (outcome.pid !== undefined) await waitGone(outcome.pid);
  pidFile?.release();
  process.exit(1);
}

interface Outcome {
  ready: boolean;
  reason: string;
  pid: number | undefined;
}

/** Reads the daemon's reports ({"pid"}, {"ready"}, {"failed"}) until ready, failure, EOF or timeout. */
function awaitReadiness(stream: Readable, timeout: number): Promise<Outcome> {
  return new Promise((resolve) => {
    let pid: number | undefined;
    let buffered = '';
    let settled = false;
    const settle = (outcome: Omit<Outcome, 'pid'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.destroy();
      resolve({ ...outcome, pid });
    };
    const timer = setTimeout(() => {
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      settle({ ready: false, reason: `not ready after ${timeout} ms (killed it)` });
    }, timeout);
    stream.on('data', (chunk: string | Buffer) => {
      buffered += chunk.toString();
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let report: { pid?: number; ready?: boolean; failed?: string };
        try {
          report = JSON.parse(line) as typeof report;
        } catch {
          continue;
        }
        if (typeof report.pid === 'number') pid = report.pid;
        if (report.ready === true) settle({ ready: true, reason: 'ready' });
        if (typeof report.failed === 'string') settle({ ready: false, reason: report.failed });
      }
    });
    stream.on('end', () => {
      settle({ ready: false, reason: pid === undefined ? 'it exited before it started' : 'it exited before it was ready' });
    });
    stream.on('error', (error) => {
      settle({ ready: false, reason: message(error) });
    });
  });
}

/** Waits (up to 2 s) until `pid` has exited; a zombie has (init may take its time to reap it). */
async function waitGone(pid: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const state = readProcStat(pid)?.state;
    if (state === undefined || state === 'Z' || state === 'X') return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The session leader: starts the daemon with everything it inherited, and leaves at once. */
function runChild(marker: Marker): never {
  const inherited = [marker.fds.ready, marker.fds.pidFile, marker.fds.stdout, marker.fds.stderr, ...marker.fds.files].filter((fd) => fd !== undefined);
  const highest = Math.max(...inherited);
  const stdio: StdioOptions = ['ignore', 1, 2, ...Array.from({ length: highest - 2 }, (_, index) => index + 3)];
  const daemon = rerun({ ...marker, stage: 'daemon', from: process.pid }, stdio, false);
  if (daemon.pid === undefined) {
    writeReport(marker.fds.ready, { failed: 'could not start the daemon stage' });
    process.exit(1);
  }
  daemon.unref();
  process.exit(0);
}

function writeReport(fd: number, report: object): void {
  try {
    writeSync(fd, `${JSON.stringify(report)}\n`);
  } catch (error) {
    // The original process is gone (EPIPE): nobody to tell.
    debug('cannot report %j: %s', report, message(error));
  }
}

function runDaemon(marker: Marker, options: DaemonizeOptions): Daemon {
  const readyFd = marker.fds.ready;
  writeReport(readyFd, { pid: process.pid });
  let reported = false;
  let lastError: unknown;
  const onError = (error: unknown) => {
    lastError = error;
  };
  const onExit = (code: number) => {
    if (!reported) writeReport(readyFd, { failed: `it exited with code ${code} before it was ready${lastError === undefined ? '' : `: ${message(lastError)}`}` });
  };
  process.on('uncaughtExceptionMonitor', onError);
  process.on('exit', onExit);
  const finish = () => {
    reported = true;
    process.off('uncaughtExceptionMonitor', onError);
    process.off('exit', onExit);
    try {
      closeSync(readyFd);
    } catch {
      // Already closed.
    }
  };
  let pidFile: PidFile | undefined;
  try {
    process.chdir(options.cwd ?? '/');
    process.umask(options.umask ?? 0o022);
    if (marker.pidFile !== undefined && marker.fds.pidFile !== undefined) pidFile = adopt(marker.pidFile, marker.fds.pidFile);
  } catch (error) {
    writeReport(readyFd, { failed: message(error) });
    finish();
    process.exit(1);
  }
  const capture = (fd: number | undefined) => (fd === undefined ? undefined : createReadStream('', { fd }));
  const daemon: Daemon = {
    pid: process.pid,
    pidFile,
    stdout: capture(marker.fds.stdout),
    stderr: capture(marker.fds.stderr),
    files: marker.fds.files,
    ready: (status) => {
      if (reported) return;
      writeReport(readyFd, { ready: true });
      finish();
      notifyQuietly({ READY: 1, ...(status === undefined ? {} : { STATUS: status }) });
    },
    fail: (error) => {
      if (!reported) writeReport(readyFd, { failed: message(error) });
      finish();
      process.exit(1);
    },
  };
  return daemon;
}

function notifyQuietly(state: Record<string, string | number>): void {
  try {
    notify(state);
  } catch (error) {
    debug('sd_notify failed: %s', message(error));
  }
}

/** No fork: this process is the daemon (systemd Type=notify, or `foreground`). */
async function runForeground(options: DaemonizeOptions): Promise<Daemon> {
  let pidFile: PidFile | undefined;
  if (options.pidFile !== undefined) {
    try {
      pidFile = await acquire(options.pidFile);
    } catch (error) {
      if (error instanceof PidFileLockedError) {
        throw new DaemonError('ERR_DAEMON_RUNNING', `already running${error.pid === undefined ? '' : ` (pid ${error.pid})`}: ${options.pidFile} is locked`, { cause: error, ...(error.pid === undefined ? {} : { pid: error.pid }) });
      }
      throw error;
    }
  }
  becomeDaemon();
  let reported = false;
  return {
    pid: process.pid,
    pidFile,
    stdout: undefined,
    stderr: undefined,
    files: options.files ?? [],
    ready: (status) => {
      if (reported) return;
      reported = true;
      notifyQuietly({ READY: 1, MAINPID: process.pid, ...(status === undefined ? {} : { STATUS: status }) });
    },
    fail: (error) => {
      notifyQuietly({ STATUS: `failed: ${message(error)}`, ERRNO: 1 });
      process.stderr.write(`daemon failed to start: ${message(error)}\n`);
      process.exit(1);
    },
  };
}

