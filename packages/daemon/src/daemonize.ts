import type { ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { debuglog } from 'node:util';
import type { PidFile } from '@x/pidfile';
import { DaemonError } from './errors.js';
import { launch } from './launch.js';
import { claimNotifySocket, errnoOf, notify, notifySocketIsOurs } from './notify.js';
import { resolveOptions, type DaemonizeOptions, type Resolved } from './options.js';
import { readReports } from './reports.js';
import { becomeDaemon, consumeMarker, MARKER, ownSession, type Marker } from './stage.js';
import { statOf } from './proc.js';
import { loadSys } from './sys.js';
import type { Tree } from './tree.js';

export type { DaemonizeOptions } from './options.js';

const debug = debuglog('x:daemon');

/** The running daemon, as daemonize() returns it. */
export interface Daemon {
  readonly pid: number;
  /** The PID file, adopted from the original process, holding this pid. */
  readonly pidFile: PidFile | undefined;
  /** With `capture`: what this process writes to its stdout and stderr (unref'd streams). */
  readonly stdout: Readable | undefined;
  readonly stderr: Readable | undefined;
  /** The descriptors passed in `files`, as numbered in this process (same order). */
  readonly files: readonly number[];
  /** Tells the original process (or systemd, in the foreground under systemd) that the daemon is ready; it exits 0. */
  ready(status?: string): void;
  /** Tells the original process that starting failed (it ends the daemon's processes, prints the reason and exits 1); exits 1. */
  fail(error: unknown): never;
}

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, X_OK, O_CLOEXEC = 0 } = constants as typeof constants & { O_CLOEXEC?: number };

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

function openLog(path: string): number {
  try {
    return openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o640);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' ? 'no permission to write it' : message(error);
    throw new DaemonError('ERR_DAEMON_LOG', `cannot open the log file ${path}: ${hint}`, { cause: error });
  }
}

/** acquire(), with "locked" turned into ERR_DAEMON_RUNNING. */
export async function acquireOrRunning(path: string, removeOnExit: boolean): Promise<PidFile> {
  // Loaded only when a PID file is used: a daemon without one starts faster.
  const { acquire, PidFileLockedError } = await import('@x/pidfile');
  try {
    return await acquire(path, { removeOnExit });
  } catch (error) {
    if (error instanceof PidFileLockedError) {
      throw new DaemonError('ERR_DAEMON_RUNNING', `already running${error.pid === undefined ? '' : ` (pid ${error.pid})`}: ${path} is locked`, {
        cause: error,
        ...(error.pid === undefined ? {} : { pid: error.pid }),
      });
    }
    throw error;
  }
}

const closeQuietly = (fd: number) => {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
};

/**
 * Turns this program into a daemon by running it again from the start, in three stages: this process
 * -> a /bin/sh session leader -> the daemon (like godaemon's parent -> child -> daemon, without a
 * second Node start-up). The daemon is in a new session but does not lead it, so it can never acquire
 * a controlling terminal, and it is re-parented at once. Resolves only in the daemon; there it has cwd
 * '/', umask 0o022, stdin from /dev/null and stdout/stderr to /dev/null, to log files, or captured.
 *
 * The original process waits until the daemon calls ready() and exits 0; if the daemon calls fail(),
 * throws or exits before that, or the timeout passes, it ends the daemon and every process the daemon
 * started, prints why to its stderr and exits 1. With `pidFile`, the PID file is locked before anything
 * forks and handed down to the daemon without ever lapsing.
 *
 * When systemd started this very process (NOTIFY_SOCKET with SYSTEMD_EXEC_PID equal to this pid, or
 * `systemd: true`) or `foreground` is set, nothing forks: this process is the daemon, and ready()
 * notifies systemd.
 *
 * Forks on Linux and macOS. Elsewhere (Windows) it rejects with DaemonError `ERR_X_UNSUPPORTED_PLATFORM`
 * before anything starts, unless `foreground` is set; `capture` is Linux only (the same error).
 */
export async function daemonize(options: DaemonizeOptions = {}): Promise<Daemon> {
  const resolved = resolveOptions(options);
  const { stage, marker, unverified } = consumeMarker();
  if (stage === 'daemon' && marker !== undefined) return await runDaemon(marker);
  try {
    // Started as the daemon but unable to prove it: starting the program again would repeat this forever.
    if (unverified !== undefined) throw unverified;
    const systemd = resolved.systemd ?? notifySocketIsOurs();
    if (resolved.foreground || systemd) return await runForeground(resolved, systemd);
    return await runParent(resolved);
  } catch (error) {
    // The caller's choices to revisit (or, off Linux and macOS, to fall back to { foreground: true }).
    const callers = error instanceof DaemonError && (error.code === 'ERR_DAEMON_BAD_OPTION' || error.code === 'ERR_X_UNSUPPORTED_PLATFORM');
    if (!resolved.exitOnError || callers) throw error;
    process.stderr.write(`daemon failed to start: ${message(error)}\n`);
    process.exit(1);
  }
}

/** Node must be there to run again: after an upgrade replaced or removed it, say so before forking. */
function checkNode(): void {
  try {
    accessSync(process.execPath, X_OK);
  } catch (error) {
    throw new DaemonError('ERR_DAEMON_EXEC', `cannot start Node again: ${process.execPath} is gone or not executable (replaced by an upgrade?); start the program anew`, { cause: error });
  }
}

/**
 * Refuses, before anything forks, what cannot work here: a platform without POSIX sessions, a session
 * the daemon could not verify (it would take itself for the caller and start the program again), or
 * capture without pipe2().
 */
function checkPlatform(options: Resolved): void {
  // The daemon finds its stage by its session: what cannot be known here cannot be known there.
  ownSession();
  if (options.capture && process.platform !== 'linux') {
    throw new DaemonError('ERR_X_UNSUPPORTED_PLATFORM', `capture needs pipe2(), which only Linux has (this is ${process.platform}): pass stdout and stderr log files instead`);
  }
}

async function runParent(options: Resolved): Promise<never> {
  checkPlatform(options);
  checkNode();
  // Everything that can fail for a reason the caller can fix fails here, before anything forks; and
  // nothing opened here stays open when it does.
  const opened: number[] = [];
  let pidFile: PidFile | undefined;
  let capture: [number, number][] | undefined;
  try {
    const stdoutFd = options.stdout === undefined ? undefined : openLog(options.stdout);
    if (stdoutFd !== undefined) opened.push(stdoutFd);
    const stderrFd = options.stderr === undefined ? undefined : stdoutFd !== undefined && options.stderr === options.stdout ? stdoutFd : openLog(options.stderr);
    if (stderrFd !== undefined && stderrFd !== stdoutFd) opened.push(stderrFd);
    if (options.pidFile !== undefined) pidFile = await acquireOrRunning(options.pidFile, false);
    if (options.capture) {
      const { pipe } = loadSys();
      capture = [pipe(), pipe()];
    }
    opened.push(...(capture?.flat() ?? []));
    return await startDaemon(options, { pidFile, capture, stdoutFd, stderrFd, opened });
  } catch (error) {
    for (const fd of opened) closeQuietly(fd);
    pidFile?.release();
    throw error;
  }
}

interface Prepared {
  pidFile: PidFile | undefined;
  capture: [number, number][] | undefined;
  stdoutFd: number | undefined;
  stderrFd: number | undefined;
  opened: number[];
}

async function startDaemon(options: Resolved, prepared: Prepared): Promise<never> {
  const { pidFile, capture } = prepared;
  // Descriptor layout of the daemon: 0-2 stdio, 3 readiness (a pipe child_process makes), then the
  // PID file, the capture read ends, then the caller's files.
  const passed: (number | 'pipe')[] = ['pipe'];
  const at = (fd: number) => 3 + passed.push(fd) - 1;
  const fds = {
    ready: 3,
    ...(pidFile === undefined ? {} : { pidFile: at(pidFile.fd) }),
    ...(capture === undefined ? {} : { stdout: at(capture[0]?.[0] as number), stderr: at(capture[1]?.[0] as number) }),
    files: options.files.map((fd) => at(fd)),
  };
  const original = process.env[MARKER];
  const marker: Marker = {
    stage: 'daemon',
    from: process.pid,
    fds,
    cwd: options.cwd,
    ...(options.pidFile === undefined ? {} : { pidFile: options.pidFile }),
    ...(original === undefined ? {} : { original }),
  };
  const env: NodeJS.ProcessEnv = { ...process.env, [MARKER]: JSON.stringify(marker) };
  // Not ours (daemonize() would not fork if it were): the daemon must not speak for another service.
  delete env.NOTIFY_SOCKET;
  const stdout = capture?.[0]?.[1] ?? prepared.stdoutFd ?? 'ignore';
  const stderr = capture?.[1]?.[1] ?? prepared.stderrFd ?? 'ignore';
  // Node resolves its own arguments (--import ./x.js, the script) here; the daemon changes directory itself.
  const leader = await launch([process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    cwd: process.cwd(),
    umask: options.umask,
    stdio: ['ignore', stdout, stderr, ...passed],
    env,
    node: true,
  });
  const spawnFailed = new Promise<Error>((resolve) => leader.once('error', resolve));
  if (leader.pid === undefined) throw new DaemonError('ERR_DAEMON_EXEC', `cannot start /bin/sh for the session leader: ${message(await spawnFailed)}`);
  leader.unref();
  // Only the daemon keeps these open now (and nobody may close their numbers again).
  for (const fd of prepared.opened.splice(0)) closeQuietly(fd);
  if (!options.wait) process.exit(0);
  const outcome = await awaitReadiness(leader, options.timeout);
  if (outcome.ready) process.exit(0);
  const tree = outcome.tree;
  let ended = '';
  if (tree !== undefined) {
    // Only a failed start needs this (and @x/sys, which it loads).
    const { endTree } = await import('./tree.js');
    const { left, found } = await endTree(tree, { signal: 'SIGKILL', killWait: 5000 });
    ended = left.length > 0 ? `; could not end pids ${left.join(', ')}` : found > 0 && outcome.timedOut ? ' (ended it and every process it started)' : '';
  }
  // Its processes are gone: the lock is ours alone again, and the file is stale.
  pidFile?.release();
  if (outcome.never) throw new DaemonError('ERR_DAEMON_EXEC', `cannot start the daemon: ${outcome.reason}`);
  process.stderr.write(`daemon failed to start: ${outcome.reason}${ended}\n`);
  process.exit(1);
}

interface Outcome {
  ready: boolean;
  reason: string;
  /** The daemon never ran our code: Node could not be started again. */
  never: boolean;
  timedOut: boolean;
  tree: Tree | undefined;
}

/** Reads the daemon's report (or the shell stage's error) until ready, failure, EOF or timeout. */
async function awaitReadiness(leader: ChildProcess, timeout: number): Promise<Outcome> {
  const session = leader.pid as number;
  // Everything of the daemon's session started after its leader: the floor for whose is whose.
  const leaderTicks = statOf(session)?.startTicks ?? 0;
  // Set in the callback below.
  const seen: { pid?: number; stage?: boolean } = {};
  const result = await readReports(leader.stdio[3] as Readable, timeout, (report) => {
    if (typeof report.pid === 'number') seen.pid = report.pid;
    if (report.stage !== undefined) {
      seen.stage = true;
      return { failed: stageFailure(report.stage) };
    }
    if (report.ready === true) return { ready: true };
    if (typeof report.failed === 'string') return { failed: report.failed };
    return undefined;
  });
  if (result.ready) return { ready: true, reason: 'ready', never: false, timedOut: false, tree: undefined };
  // The daemon by its pid while it lives (its group can then be signalled at once), else its session.
  const ticks = seen.pid === undefined ? undefined : startTicksOf(seen.pid);
  const tree: Tree = ticks === undefined ? { pid: seen.pid ?? session, startTicks: leaderTicks, session } : { pid: seen.pid as number, startTicks: ticks, session };
  const never = seen.stage === true;
  if (result.timedOut) return { ready: false, reason: `not ready after ${timeout} ms`, never, timedOut: true, tree };
  if (result.failed !== undefined) return { ready: false, reason: result.failed, never, timedOut: false, tree };
  return { ready: false, reason: 'it exited before it was ready', never, timedOut: false, tree };
}

function stageFailure(stage: string): string {
  if (stage === 'cwd') return `cannot change to the working directory ${process.cwd()}`;
  if (stage === 'exec') return `${process.execPath} is gone or not executable`;
  return `the session leader failed (${stage})`;
}

/** Tells the original process; false when it is gone (EPIPE) and nobody hears. */
function writeReport(fd: number, report: object): boolean {
  try {
    writeSync(fd, `${JSON.stringify(report)}\n`);
    return true;
  } catch (error) {
    debug('cannot report %j: %s', report, message(error));
    return false;
  }
}

/** A captured stream: a pipe read through libuv, so that no thread blocks on it and exit never hangs. */
async function captured(fd: number | undefined): Promise<Readable | undefined> {
  if (fd === undefined) return undefined;
  // Loaded only with capture: every other daemon starts without it.
  const { Socket } = await import('node:net');
  const socket = new Socket({ fd, readable: true, writable: false });
  socket.unref();
  return socket;
}

async function runDaemon(marker: Marker): Promise<Daemon> {
  const readyFd = marker.fds.ready;
  let reported = false;
  let lastError: unknown;
  const onError = (error: unknown) => {
    lastError = error;
  };
  const onExit = (code: number) => {
    if (reported) return;
    if (writeReport(readyFd, { pid: process.pid, failed: `it exited with code ${code} before it was ready${lastError === undefined ? '' : `: ${message(lastError)}`}` })) awaitEnd();
  };
  process.on('uncaughtExceptionMonitor', onError);
  process.on('exit', onExit);
  const finish = () => {
    reported = true;
    process.off('uncaughtExceptionMonitor', onError);
    process.off('exit', onExit);
    closeQuietly(readyFd);
  };
  let pidFile: PidFile | undefined;
  try {
    process.chdir(marker.cwd);
    if (marker.pidFile !== undefined && marker.fds.pidFile !== undefined) {
      const { adopt } = await import('@x/pidfile');
      pidFile = adopt(marker.pidFile, marker.fds.pidFile);
    }
  } catch (error) {
    writeReport(readyFd, { pid: process.pid, failed: message(error) });
    finish();
    process.exit(1);
  }
  return {
    pid: process.pid,
    pidFile,
    stdout: await captured(marker.fds.stdout),
    stderr: await captured(marker.fds.stderr),
    files: marker.fds.files,
    ready: () => {
      if (reported) return;
      // One report, with the pid: the caller is woken once, when there is something to decide.
      writeReport(readyFd, { pid: process.pid, ready: true });
      finish();
    },
    fail: (error) => {
      const told = !reported && writeReport(readyFd, { pid: process.pid, failed: message(error) });
      finish();
      if (told) awaitEnd();
      process.exit(1);
    },
  };
}

/**
 * A daemon that failed before it was ready stays, blocked, until the caller that heard of it has ended
 * it and every process it started: alive, it still links its children (also those in sessions of
 * their own) to the tree the caller ends. Exits by itself after 5 s if the caller does not.
 */
function awaitEnd(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5000);
}

/** The start ticks of `pid` if it is alive (0 without /proc, where they are not used). */
function startTicksOf(pid: number): number | undefined {
  if (process.platform !== 'linux') return 0;
  const stat = statOf(pid);
  return stat === undefined || stat.state === 'Z' ? undefined : stat.startTicks;
}

function notifyQuietly(state: Record<string, string | number>): void {
  try {
    notify(state);
  } catch (error) {
    debug('sd_notify failed: %s', message(error));
  }
}

/**
 * No fork: this process is the daemon (under systemd, or `foreground`). The PID file, and the cwd and
 * umask given explicitly, apply; stdout, stderr and capture do not (systemd's journal takes the output).
 */
async function runForeground(options: Resolved, systemd: boolean): Promise<Daemon> {
  // ready() and fail() notify synchronously.
  if (systemd) loadSys();
  const pidFile = options.pidFile === undefined ? undefined : await acquireOrRunning(options.pidFile, true);
  try {
    if (options.explicit.cwd) process.chdir(options.cwd);
  } catch (error) {
    pidFile?.release();
    throw new DaemonError('ERR_DAEMON_BAD_OPTION', `cannot change to ${options.cwd}: ${message(error)}`, { cause: error });
  }
  if (options.explicit.umask) process.umask(options.umask);
  if (options.stdout !== undefined || options.stderr !== undefined || options.capture) debug('foreground: stdout, stderr and capture do not apply');
  // Ours to use, and no child's: sd_notify(unset_environment).
  if (systemd) claimNotifySocket();
  becomeDaemon();
  let reported = false;
  return {
    pid: process.pid,
    pidFile,
    stdout: undefined,
    stderr: undefined,
    files: options.files,
    ready: (status) => {
      if (reported) return;
      reported = true;
      if (systemd) notifyQuietly({ READY: 1, MAINPID: process.pid, ...(status === undefined ? {} : { STATUS: status }) });
    },
    fail: (error) => {
      const errno = errnoOf(error);
      if (systemd) notifyQuietly({ STATUS: `failed: ${message(error)}`, ...(errno === undefined ? {} : { ERRNO: errno }) });
      process.stderr.write(`daemon failed to start: ${message(error)}\n`);
      process.exit(1);
    },
  };
}
