import { closeSync, constants, mkdirSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { read, type PidFile } from '@x/pidfile';
import {
  bindUnixDatagram,
  close,
  readProcStat,
  receiveUnixDatagram,
  sendUnixDatagram,
  setChildSubreaper,
  waitpid,
  type ProcStat,
} from '@x/sys';
import { acquireOrRunning } from './daemonize.js';
import { DaemonError } from './errors.js';
import { launch } from './launch.js';
import { claimNotifySocket, notifySocketIsOurs } from './notify.js';
import { readRecord, removeRecord, writeRecord, bootId, type DaemonRecord } from './record.js';
import { readReports } from './reports.js';
import { endTree, membersOf, signalExact, startTicksOf, type Tree } from './tree.js';

const linux = process.platform === 'linux';
const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_CLOEXEC = 0 } = constants as typeof constants & { O_CLOEXEC?: number };
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Where `x-daemon` prints: its stdout and stderr. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export interface StartOptions {
  readonly command: readonly string[];
  readonly pidFile?: string | undefined;
  /** Create the PID file's directory (mode 0755) when it does not exist, as acquire()'s `createDirectory`. */
  readonly createDirectory?: boolean;
  readonly stdout?: string | undefined;
  readonly stderr?: string | undefined;
  readonly cwd: string;
  readonly umask: number;
  /** ms until the command must be ready. */
  readonly timeout: number;
  /** ms the command must stay up to count as ready (without `notify`). */
  readonly settle: number;
  /** Ready when the command sends READY=1 to the NOTIFY_SOCKET it is given. */
  readonly notify: boolean;
}

// ---------------------------------------------------------------------------------------------------
// What a PID file says, with x-daemon's record beside it.

export type View =
  | { kind: 'absent'; survivors: ProcStat[] }
  | { kind: 'starting'; caller: number; pid: number | undefined }
  /** `tree` only when the record proves the process group and session are the daemon's. */
  | { kind: 'running'; pid: number; tree: Tree | undefined }
  | { kind: 'dead'; pid: number | undefined; detail: string; survivors: ProcStat[]; tree: Tree | undefined }
  | { kind: 'error'; message: string };

const treeOf = (record: DaemonRecord | undefined): Tree | undefined =>
  record?.pid === undefined || record.pidStart === undefined || record.session === undefined
    ? undefined
    : { pid: record.pid, startTicks: record.pidStart, session: record.session };

/** The daemon's processes still running: only with /proc and a record that names its session. */
const survivorsOf = (tree: Tree | undefined): ProcStat[] => (tree === undefined || !linux ? [] : membersOf(tree));

/** `pid` is alive and is the process that was started when the record was written. */
function provenBy(tree: Tree | undefined, pid: number): Tree | undefined {
  if (tree === undefined || tree.pid !== pid || !linux) return undefined;
  const stat = readProcStat(pid);
  if (stat === undefined || stat.state === 'Z' || stat.startTicks !== tree.startTicks) return undefined;
  return stat.sid === tree.session && stat.pgid === tree.session ? tree : undefined;
}

function callerStarting(record: DaemonRecord | undefined): boolean {
  return record?.state === 'starting' && startTicksOf(record.caller) === record.callerStart;
}

/** Reads the PID file and the record beside it; never signals, never locks. */
export function inspect(path: string): View {
  let status: ReturnType<typeof read>;
  try {
    status = read(path);
  } catch (error) {
    return { kind: 'error', message: message(error) };
  }
  const record = readRecord(path);
  const tree = treeOf(record);
  if (callerStarting(record)) return { kind: 'starting', caller: record?.caller as number, pid: record?.pid };
  if (status.status === 'absent') return { kind: 'absent', survivors: survivorsOf(tree) };
  if (status.status === 'running') return { kind: 'running', pid: status.pid, tree: provenBy(tree, status.pid) };
  // A command that closed the descriptor it inherited no longer holds the lock, but the record still
  // proves it: same pid, same start time, in the session x-daemon made for it.
  const proven = status.pid === undefined ? undefined : provenBy(tree, status.pid);
  if (proven !== undefined) return { kind: 'running', pid: proven.pid, tree: proven };
  return { kind: 'dead', pid: status.pid, detail: status.detail, survivors: survivorsOf(tree), tree };
}

// ---------------------------------------------------------------------------------------------------
// status

/** LSB exit codes: 0 running (or starting), 1 dead with its PID file left, 3 not running, 4 unknown. */
export function status(path: string, output: Output): number {
  const view = inspect(path);
  switch (view.kind) {
    case 'running':
      output.out(`running (pid ${view.pid})`);
      return 0;
    case 'starting':
      output.out(`starting${view.pid === undefined ? '' : ` (pid ${view.pid})`}: x-daemon start (pid ${view.caller}) is waiting for it to be ready`);
      return 0;
    case 'dead':
      output.out(`dead, but ${path} is left: ${view.detail}${left(view.survivors)}`);
      return 1;
    case 'absent':
      output.out(`not running${left(view.survivors)}`);
      return 3;
    case 'error':
      output.err(`x-daemon: status unknown: ${view.message}`);
      return 4;
  }
}

const processes = (count: number) => (count === 1 ? '1 process' : `${count} processes`);

const left = (survivors: readonly ProcStat[]) =>
  survivors.length === 0
    ? ''
    : `; ${processes(survivors.length)} it started ${survivors.length === 1 ? 'is' : 'are'} still running (pids ${survivors.map((stat) => stat.pid).join(', ')}): x-daemon stop ends them`;

// ---------------------------------------------------------------------------------------------------
// stop

/** Removes the PID file if it still names `pid`, and the record. */
function removeFiles(path: string, pid: number | undefined): void {
  try {
    if (pid === undefined || Number(readFileSync(path, 'latin1').trim()) === pid) unlinkSync(path);
  } catch {
    // Gone already.
  }
  removeRecord(path);
}

/** SIGTERM then SIGKILL to one process only, each through a pidfd checked against its start time. */
async function stopOne(pid: number, timeout: number): Promise<{ killed: boolean; gone: boolean }> {
  const startTicks = startTicksOf(pid);
  if (startTicks === undefined) return { killed: false, gone: true };
  const gone = () => startTicksOf(pid) !== startTicks;
  signalExact(pid, startTicks, 'SIGTERM');
  if (await until(gone, timeout)) return { killed: false, gone: true };
  signalExact(pid, startTicks, 'SIGKILL');
  return { killed: true, gone: await until(gone, 5000) };
}

async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    if (done()) return true;
    if (performance.now() >= deadline) return false;
    await sleep(Math.min(delay, Math.max(1, deadline - performance.now())));
  }
}

const KILL_WAIT = 5000;

/**
 * Stops the daemon of the PID file: SIGTERM to its whole tree (its process group, its session, its
 * descendants; each proven by the record x-daemon wrote and by pidfds), SIGKILL to what is left after
 * `timeout` ms. A start still in progress is waited for (up to `timeout`), then stopped; when it is
 * still starting then, fails with "starting". A PID file without a record that proves the group gets
 * signals to its own pid only. Exit 0 when nothing of the daemon runs any more.
 */
export async function stop(path: string, timeout: number, output: Output): Promise<number> {
  const deadline = performance.now() + timeout;
  let view = inspect(path);
  while (view.kind === 'starting') {
    if (performance.now() >= deadline) {
      output.err(`x-daemon: still starting: x-daemon start (pid ${view.caller}) has not finished; try again`);
      return 1;
    }
    await sleep(20);
    view = inspect(path);
  }
  const remaining = () => Math.max(0, deadline - performance.now());
  switch (view.kind) {
    case 'error':
      output.err(`x-daemon: ${view.message}`);
      return 1;
    case 'absent':
    case 'dead': {
      if (view.survivors.length === 0) {
        output.out(`not running${view.kind === 'dead' ? ` (${view.detail})` : ''}`);
        if (readRecord(path) !== undefined) removeFiles(path, view.kind === 'dead' ? view.pid : undefined);
        return 0;
      }
      const tree = treeOf(readRecord(path)) as Tree;
      const ended = await endTree(tree, { grace: remaining(), killWait: KILL_WAIT });
      removeFiles(path, view.kind === 'dead' ? view.pid : undefined);
      if (ended.left.length > 0) {
        output.err(`x-daemon: could not end pids ${ended.left.join(', ')}`);
        return 1;
      }
      output.out(`pid ${tree.pid} had died; ended the ${processes(view.survivors.length)} it left${ended.killed ? ' (with SIGKILL)' : ''}`);
      return 0;
    }
    case 'running': {
      if (view.tree === undefined) {
        const one = await stopOne(view.pid, remaining());
        if (!one.gone) {
          output.err(`x-daemon: pid ${view.pid} survived SIGKILL`);
          return 1;
        }
        output.out(`stopped ${view.pid}${one.killed ? ' (with SIGKILL)' : ''}; no x-daemon record proves its process group, so only that pid was signalled`);
        return 0;
      }
      const ended = await endTree(view.tree, { grace: remaining(), killWait: KILL_WAIT });
      removeFiles(path, view.pid);
      if (ended.left.length > 0) {
        output.err(`x-daemon: could not end pids ${ended.left.join(', ')}`);
        return 1;
      }
      output.out(
        ended.killed
          ? `${view.pid} ignored SIGTERM for ${Math.round(timeout / 100) / 10} s; sent SIGKILL to its process group and every process it started`
          : `stopped ${view.pid}`,
      );
      return 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// start

function openLog(path: string): number {
  try {
    return openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o640);
  } catch (error) {
    throw new DaemonError('ERR_DAEMON_LOG', `cannot open the log file ${path}: ${message(error)}`, { cause: error });
  }
}

const TERMINATING = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * How the command ended while starting, if it did: the exit status as its subreaper, else only that it
 * is gone. Until its session leader is gone the command is not our child yet, and a zombie of it waits
 * to be handed to us.
 */
function ended(pid: number, startTicks: number): string | undefined {
  if (linux) {
    try {
      const result = waitpid(pid);
      if (result !== undefined) return result.signal === null ? `exited with code ${result.code}` : `was killed by ${result.signal}`;
      return undefined;
    } catch {
      // Not (yet) our child.
    }
    const stat = readProcStat(pid);
    return stat !== undefined && stat.startTicks === startTicks ? undefined : 'exited';
  }
  return startTicksOf(pid) === startTicks ? undefined : 'exited';
}

/**
 * `x-daemon start`: runs the command as the daemon itself (its pid in the PID file, whose lock it holds
 * through an inherited descriptor; no process of ours stays) and returns once it is ready (0) or has
 * failed (1, with every process it started ended). A SIGTERM, SIGINT or SIGHUP meanwhile ends what was
 * started and then kills this process with that same signal.
 */
export async function start(options: StartOptions, output: Output): Promise<number> {
  // Orphans of the daemon's tree come to us while we wait (and the command itself, once its session
  // leader is gone): we learn its exit status and nothing can slip away from a kill.
  if (linux) setChildSubreaper(true);
  const ours = notifySocketIsOurs();
  const systemdSocket = ours ? claimNotifySocket() : undefined;
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NOTIFY_SOCKET;
  if (ours) delete env.SYSTEMD_EXEC_PID;
  const opened: number[] = [];
  let pidFile: PidFile | undefined;
  let socketFd: number | undefined;
  // Set by later steps and by the signal handler: read through this object, not narrowed copies.
  const state: { leaderPid?: number; tree?: Tree; interrupted?: NodeJS.Signals } = {};
  const interruptedBy = (): NodeJS.Signals | undefined => state.interrupted;
  let stdoutFd: number | undefined;
  let stderrFd: number | undefined;
  let wake = () => {};
  const onSignal = (signal: NodeJS.Signals) => {
    state.interrupted ??= signal;
    wake();
  };
  for (const signal of TERMINATING) process.on(signal, onSignal);
  const cleanup = async (withTree: boolean) => {
    for (const fd of opened.splice(0)) closeQuietly(fd);
    if (socketFd !== undefined) close(socketFd);
    socketFd = undefined;
    let result: Awaited<ReturnType<typeof endTree>> | undefined;
    if (withTree && state.tree !== undefined) result = await endTree(state.tree, { signal: 'SIGKILL', killWait: KILL_WAIT, adopter: process.pid, ...(state.leaderPid === undefined ? {} : { exclude: state.leaderPid }) });
    else if (withTree && state.leaderPid !== undefined) {
      try {
        process.kill(-state.leaderPid, 'SIGKILL');
      } catch {
        // Nothing of it is left.
      }
    }
    if (options.pidFile !== undefined && pidFile !== undefined) {
      pidFile.release();
      removeRecord(options.pidFile);
    }
    return result;
  };
  const dieBy = async (signal: NodeJS.Signals): Promise<never> => {
    await cleanup(true);
    output.err(`x-daemon: ${signal} while starting; ended what was started`);
    for (const name of TERMINATING) process.off(name, onSignal);
    process.kill(process.pid, signal);
    // The default action ends us; wait for it.
    return new Promise<never>(() => {});
  };
  const failed = async (reason: string): Promise<number> => {
    const result = await cleanup(true);
    const not = result !== undefined && result.left.length > 0 ? `; could not end pids ${result.left.join(', ')}` : '';
    output.err(`x-daemon: ${reason}${not}`);
    return 1;
  };

  try {
    stdoutFd = options.stdout === undefined ? undefined : openLog(options.stdout);
    if (stdoutFd !== undefined) opened.push(stdoutFd);
    stderrFd = options.stderr === undefined ? undefined : options.stderr === options.stdout ? stdoutFd : openLog(options.stderr);
    if (stderrFd !== undefined && stderrFd !== stdoutFd) opened.push(stderrFd);
    if (options.pidFile !== undefined) {
      if (options.createDirectory === true) mkdirSync(dirname(options.pidFile), { recursive: true, mode: 0o755 });
      const previous = treeOf(readRecord(options.pidFile));
      // Refuse before touching the files: they tell the operator which instance died.
      const before = inspect(options.pidFile);
      if (before.kind === 'running') throw new DaemonError('ERR_DAEMON_RUNNING', `already running (pid ${before.pid}): ${options.pidFile}`, { pid: before.pid });
      if ((before.kind === 'dead' || before.kind === 'absent') && before.survivors.length > 0) {
        throw new DaemonError('ERR_DAEMON_RUNNING', `the last instance (pid ${previous?.pid}) is dead${left(before.survivors)}`);
      }
      try {
        pidFile = await acquireOrRunning(options.pidFile, false);
      } catch (error) {
        const survivors = survivorsOf(previous);
        if (error instanceof DaemonError && error.code === 'ERR_DAEMON_RUNNING' && survivors.length > 0 && inspect(options.pidFile).kind === 'dead') {
          throw new DaemonError('ERR_DAEMON_RUNNING', `the last instance (pid ${previous?.pid}) is dead, but its processes still hold ${options.pidFile}${left(survivors)}`, { cause: error });
        }
        throw error;
      }
      // Under the lock now: a dead instance's tree that still runs would be a second copy.
      const survivors = survivorsOf(previous);
      if (survivors.length > 0) {
        pidFile.release();
        pidFile = undefined;
        throw new DaemonError('ERR_DAEMON_RUNNING', `the last instance (pid ${previous?.pid}) is dead${left(survivors)}`);
      }
      writeRecord(options.pidFile, { state: 'starting', caller: process.pid, callerStart: startTicksOf(process.pid) ?? 0, boot: bootId() });
    }
    if (options.notify) {
      const name = `@x-daemon-${process.pid}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
      socketFd = bindUnixDatagram(name);
      env.NOTIFY_SOCKET = name;
    }
  } catch (error) {
    await cleanup(false);
    output.err(`x-daemon: ${message(error)}`);
    for (const name of TERMINATING) process.off(name, onSignal);
    return 1;
  }

  const leader = await launch(options.command, {
    cwd: options.cwd,
    umask: options.umask,
    stdio: ['ignore', stdoutFd ?? 'ignore', stderrFd ?? 'ignore', 'pipe', ...(pidFile === undefined ? [] : [pidFile.fd])],
    env,
    closeReport: true,
    ownNotify: options.notify,
  });
  const spawnError = new Promise<Error>((resolve) => leader.once('error', resolve));
  if (leader.pid === undefined) return failed(`cannot start /bin/sh: ${message(await spawnError)}`);
  state.leaderPid = leader.pid;
  leader.unref();
  for (const fd of opened.splice(0)) closeQuietly(fd);

  const startedAt = performance.now();
  const deadline = startedAt + options.timeout;
  let pid: number | undefined;
  const report = await readReports(leader.stdio[3] as Readable, options.timeout, (line) => {
    if (typeof line.started === 'number') {
      pid = line.started;
      return { ready: true };
    }
    if (line.stage === 'cwd') return { failed: `cannot change to the directory ${options.cwd}` };
    if (line.stage === 'exec') return { failed: `cannot run ${options.command[0]}: not found or not executable` };
    if (line.stage !== undefined) return { failed: `the session leader failed (${line.stage})` };
    return undefined;
  });
  if (state.interrupted !== undefined) return dieBy(state.interrupted);
  if (pid === undefined) return failed(report.failed ?? (report.timedOut ? `not ready after ${seconds(options.timeout)}: the command never started` : 'the session leader exited before it started the command'));
  // A zombie too: a command that exited at once still has its exit status for us.
  const startTicks = linux ? readProcStat(pid)?.startTicks : startTicksOf(pid);
  const tree: Tree = { pid, startTicks: startTicks ?? 0, session: leader.pid };
  state.tree = tree;
  if (options.pidFile !== undefined && pidFile !== undefined) {
    pidFile.update(pid);
    writeRecord(options.pidFile, { state: 'starting', caller: process.pid, callerStart: startTicksOf(process.pid) ?? 0, pid, pidStart: tree.startTicks, session: leader.pid, boot: bootId() });
  }

  // Readiness: READY=1 on our socket, or still up after `settle` ms.
  let ready = false;
  for (let delay = 1; ; delay = Math.min(delay * 2, 10)) {
    const signal = interruptedBy();
    if (signal !== undefined) return dieBy(signal);
    const how = startTicks === undefined ? 'exited' : ended(pid, startTicks);
    if (how !== undefined) return failed(`${options.command[0]} ${how} while starting`);
    if (socketFd !== undefined) {
      for (let datagram = receiveUnixDatagram(socketFd); datagram !== undefined; datagram = receiveUnixDatagram(socketFd)) {
        if (/^READY=1$/m.test(datagram.toString())) ready = true;
      }
    } else if (performance.now() - startedAt >= options.settle) ready = true;
    if (ready) break;
    if (performance.now() >= deadline) {
      const result = await cleanup(true);
      const count = result?.found ?? 0;
      const survived = result !== undefined && result.left.length > 0 ? `; could not end pids ${result.left.join(', ')}` : '';
      output.err(
        `x-daemon: ${options.command[0]} was not ready after ${seconds(options.timeout)}; ` +
          `killed it (pid ${pid})${count > 1 ? ` and the ${processes(count - 1)} it started` : ''}${survived}`,
      );
      return 1;
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, delay);
    });
  }
  if (socketFd !== undefined) close(socketFd);
  if (options.pidFile !== undefined) {
    writeRecord(options.pidFile, { state: 'running', caller: process.pid, callerStart: startTicksOf(process.pid) ?? 0, pid, pidStart: tree.startTicks, session: leader.pid, boot: bootId() });
  }
  // systemd started us (Type=notify): the command is the service's main process from now on.
  if (systemdSocket !== undefined) {
    try {
      sendUnixDatagram(systemdSocket, Buffer.from(`READY=1\nMAINPID=${pid}`));
    } catch (error) {
      output.err(`x-daemon: cannot notify systemd: ${message(error)}`);
    }
  }
  for (const name of TERMINATING) process.off(name, onSignal);
  output.out(`started ${pid}`);
  return 0;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
