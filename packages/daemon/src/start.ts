import type { Readable } from 'node:stream';
import type { PidFile } from '@x/pidfile';
import { bindUnixDatagram, close, readProcStat, receiveUnixDatagram, sendUnixDatagram, setChildSubreaper, waitpid } from '@x/sys';
import { claimPidFile } from './claim.js';
import { messageOf } from './errors.js';
import { launch } from './launch.js';
import { claimNotifySocket, notifySocketIsOurs } from './notify.js';
import { closeQuietly, openLog } from './open.js';
import { processes, seconds, type Output } from './output.js';
import { bootId, removeRecord, writeRecord, type DaemonRecord } from './record.js';
import { readReports } from './reports.js';
import { resolveStartOptions, type StartOptions } from './service-options.js';
import { endTree, startTicksOf, type Tree } from './tree.js';

const linux = process.platform === 'linux';
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
    // Not processState(): only the start time proves the pid is still the command's (its zombie is, too).
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
export async function start(given: StartOptions, output: Output): Promise<number> {
  const options = resolveStartOptions(given);
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
  // The record beside the PID file, as start goes on: who is starting it, then which command it started.
  const record = ({ state: phase, ...daemon }: Pick<DaemonRecord, 'state'> & Partial<Pick<DaemonRecord, 'pid' | 'pidStart' | 'session'>>) => {
    if (options.pidFile !== undefined) writeRecord(options.pidFile, { state: phase, caller: process.pid, callerStart: startTicksOf(process.pid) ?? 0, ...daemon, boot: bootId() });
  };
  const cleanup = async (withTree: boolean) => {
    for (const fd of opened.splice(0)) closeQuietly(fd);
    if (socketFd !== undefined) close(socketFd);
    socketFd = undefined;
    let result: Awaited<ReturnType<typeof endTree>> | undefined;
    if (withTree && state.tree !== undefined) result = await endTree(state.tree, { signal: 'SIGKILL', adopter: process.pid, ...(state.leaderPid === undefined ? {} : { exclude: state.leaderPid }) });
    else if (withTree && state.leaderPid !== undefined) {
      try {
        // A group, not one pid (no processState() question): its number is not reused while members live.
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
      pidFile = await claimPidFile(options.pidFile, { createDirectory: options.createDirectory });
      record({ state: 'starting' });
    }
    if (options.notify) {
      const name = `@x-daemon-${process.pid}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
      socketFd = bindUnixDatagram(name);
      env.NOTIFY_SOCKET = name;
    }
  } catch (error) {
    await cleanup(false);
    output.err(`x-daemon: ${messageOf(error)}`);
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
  if (leader.pid === undefined) return failed(`cannot start /bin/sh: ${messageOf(await spawnError)}`);
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
  if (pidFile !== undefined) {
    pidFile.update(pid);
    record({ state: 'starting', pid, pidStart: tree.startTicks, session: leader.pid });
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
  record({ state: 'running', pid, pidStart: tree.startTicks, session: leader.pid });
  // systemd started us (Type=notify): the command is the service's main process from now on.
  if (systemdSocket !== undefined) {
    try {
      sendUnixDatagram(systemdSocket, Buffer.from(`READY=1\nMAINPID=${pid}`));
    } catch (error) {
      output.err(`x-daemon: cannot notify systemd: ${messageOf(error)}`);
    }
  }
  for (const name of TERMINATING) process.off(name, onSignal);
  output.out(`started ${pid}`);
  return 0;
}
