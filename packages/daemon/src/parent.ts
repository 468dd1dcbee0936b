import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Readable } from 'node:stream';
import type { PidFile } from '@x/pidfile';
import { pipe, readProcStat } from '@x/sys';
import { DaemonError, messageOf } from './errors.js';
import { launch } from './launch.js';
import { acquireOrRunning, closeQuietly, openLog } from './open.js';
import type { Resolved } from './options.js';
import { readReports } from './reports.js';
import { MARKER, ownSession, type Marker } from './stage.js';
import { endTree, startTicksOf, type Tree } from './tree.js';

/** Node must be there to run again: after an upgrade replaced or removed it, say so before forking. */
function checkNode(): void {
  try {
    accessSync(process.execPath, constants.X_OK);
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

/**
 * The original process: opens what the daemon inherits, starts the program again through the sh
 * session leader and exits 0 once the daemon is ready, or 1 after ending everything it started.
 */
export async function runParent(options: Resolved): Promise<never> {
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
    if (options.pidFile !== undefined) pidFile = await acquireOrRunning(options.pidFile, { removeOnExit: false });
    if (options.capture) capture = [pipe(), pipe()];
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
  if (leader.pid === undefined) throw new DaemonError('ERR_DAEMON_EXEC', `cannot start /bin/sh for the session leader: ${messageOf(await spawnFailed)}`);
  leader.unref();
  // Only the daemon keeps these open now (and nobody may close their numbers again).
  for (const fd of prepared.opened.splice(0)) closeQuietly(fd);
  if (!options.wait) process.exit(0);
  const outcome = await awaitReadiness(leader, options.timeout);
  if (outcome.ready) process.exit(0);
  const tree = outcome.tree;
  let ended = '';
  if (tree !== undefined) {
    const { left, found } = await endTree(tree, { signal: 'SIGKILL' });
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
  // Everything of the daemon's session started after its leader: the floor for whose is whose. Read
  // from /proc even while the leader is a zombie, which startTicksOf() would not; 0 without /proc.
  const leaderTicks = (process.platform === 'linux' ? readProcStat(session)?.startTicks : undefined) ?? 0;
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
