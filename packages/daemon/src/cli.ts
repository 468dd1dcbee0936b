#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { read, signal } from '@x/pidfile';
import { bindUnixDatagram, close, getpgid, receiveUnixDatagram } from '@x/sys';
import { daemonize, type Daemon } from './daemonize.js';
import { stage } from './stage.js';

const usage = `usage:
  x-daemon start [--pidfile P] [--stdout F] [--stderr F] [--cwd D] [--umask M] [--timeout S]
                 [--settle MS] [--notify] -- command [args...]
      runs the command as a daemon and exits 0 once it is ready: when it has stayed up for --settle
      ms (default 500), or, with --notify, when it sends READY=1 to $NOTIFY_SOCKET; else exits 1
  x-daemon stop --pidfile P [--timeout S]     SIGTERM, then SIGKILL after S seconds (default 10)
  x-daemon status --pidfile P                 exit 0 running, 1 dead with a PID file, 3 not running
  x-daemon restart [start options] -- command [args...]`;

class UsageError extends Error {}

const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGQUIT'];

function number(value: string | undefined, option: string, radix = 10): number | undefined {
  if (value === undefined) return undefined;
  const parsed = radix === 8 ? Number.parseInt(value, 8) : Number(value);
  const pattern = radix === 8 ? /^0?o?[0-7]{1,4}$/ : /^\d+(\.\d+)?$/;
  if (!pattern.test(value) || !Number.isFinite(parsed)) throw new UsageError(`${option} needs a ${radix === 8 ? 'octal mode like 022' : 'number'}, got ${value}`);
  return parsed;
}

function parse(argv: string[]) {
  const separator = argv.indexOf('--');
  const own = separator < 0 ? argv : argv.slice(0, separator);
  const command = separator < 0 ? [] : argv.slice(separator + 1);
  const { values, positionals } = parseArgs({
    args: own,
    allowPositionals: true,
    options: {
      pidfile: { type: 'string' },
      stdout: { type: 'string' },
      stderr: { type: 'string' },
      cwd: { type: 'string' },
      umask: { type: 'string' },
      timeout: { type: 'string' },
      settle: { type: 'string' },
      notify: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [action, ...extra] = positionals;
  if (values.help === true) return { action: 'help' as const, values, command };
  if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(' ')}; put the command after --`);
  if (action === 'start' || action === 'restart') {
    if (command.length === 0) throw new UsageError(`${action} needs a command after --`);
  } else if (action === 'stop' || action === 'status') {
    if (values.pidfile === undefined) throw new UsageError(`${action} needs --pidfile`);
  } else throw new UsageError(`unknown command ${action ?? '(none)'}`);
  return { action, values, command };
}

type Parsed = ReturnType<typeof parse>;

async function stop(pidfile: string, timeoutSeconds: number): Promise<number> {
  const status = read(pidfile);
  if (status.status !== 'running') {
    process.stdout.write(`not running${status.status === 'stale' ? ` (${status.detail})` : ''}\n`);
    return 0;
  }
  const term = await signal(pidfile, 'SIGTERM', { wait: timeoutSeconds * 1000 });
  if (term.exited) {
    process.stdout.write(`stopped ${term.pid}\n`);
    return 0;
  }
  process.stdout.write(`${term.pid} ignored SIGTERM for ${timeoutSeconds} s; sending SIGKILL to its process group\n`);
  // The daemon leads nothing but lives in a group of its own (made by its session leader): the command
  // it runs is in there too, so SIGKILL to the group leaves no orphan behind.
  const group = getpgid(term.pid);
  if (group > 1 && group !== getpgid()) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  const kill = await signal(pidfile, 'SIGKILL', { wait: 5000 }).catch(() => ({ exited: true }));
  return kill.exited ? 0 : 1;
}

/** In the daemon: run the command, decide readiness, pass signals on, and exit as it exits. */
async function supervise(daemon: Daemon, command: string[], options: { settle: number; notify: boolean }): Promise<never> {
  const socket = options.notify ? `@x-daemon-${process.pid}-${Math.random().toString(36).slice(2)}` : undefined;
  const socketFd = socket === undefined ? undefined : bindUnixDatagram(socket);
  const [file, ...args] = command as [string, ...string[]];
  const child = spawn(file, args, { stdio: 'inherit', env: socket === undefined ? process.env : { ...process.env, NOTIFY_SOCKET: socket } });
  if (child.pid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    daemon.fail(`cannot run ${file}: ${error.message}`);
  }
  for (const name of FORWARDED) {
    process.on(name, () => {
      child.kill(name);
    });
  }
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, killedBy) => { resolve(killedBy === null ? (code ?? 1) : 128 + constants.signals[killedBy]); });
  });
  const readiness = new Promise<void>((resolve) => {
    if (socketFd === undefined) {
      setTimeout(resolve, options.settle);
      return;
    }
    const poll = setInterval(() => {
      for (let datagram = receiveUnixDatagram(socketFd); datagram !== undefined; datagram = receiveUnixDatagram(socketFd)) {
        if (/^READY=1$/m.test(datagram.toString())) {
          clearInterval(poll);
          resolve();
        }
      }
    }, 10);
  });
  const ready = await Promise.race([readiness.then(() => true), exited.then(() => false)]);
  if (socketFd !== undefined) close(socketFd);
  if (!ready) daemon.fail(`${file} exited with code ${await exited} while starting`);
  daemon.ready();
  process.exit(await exited);
}

async function start(parsed: Parsed): Promise<number> {
  const { values, command } = parsed;
  const timeout = number(values.timeout, '--timeout') ?? 30;
  const settle = number(values.settle, '--settle') ?? 500;
  const umask = number(values.umask, '--umask', 8);
  const daemon = await daemonize({
    ...(values.pidfile === undefined ? {} : { pidFile: values.pidfile }),
    ...(values.stdout === undefined ? {} : { stdout: values.stdout }),
    ...(values.stderr === undefined ? {} : { stderr: values.stderr }),
    ...(values.cwd === undefined ? {} : { cwd: values.cwd }),
    ...(umask === undefined ? {} : { umask }),
    timeout: timeout * 1000,
  });
  return supervise(daemon, command, { settle, notify: values.notify === true });
}

async function main(argv: string[]): Promise<number> {
  const parsed = parse(argv);
  const { action, values } = parsed;
  switch (action) {
    case 'help':
      process.stdout.write(`${usage}\n`);
      return 0;
    case 'status': {
      const status = read(values.pidfile as string);
      if (status.status === 'running') process.stdout.write(`running (pid ${status.pid})\n`);
      else if (status.status === 'stale') process.stdout.write(`dead, but ${status.path} exists: ${status.detail}\n`);
      else process.stdout.write('not running\n');
      return status.status === 'running' ? 0 : status.status === 'stale' ? 1 : 3;
    }
    case 'stop':
      return stop(values.pidfile as string, number(values.timeout, '--timeout') ?? 10);
    case 'restart':
      // This program runs again in each stage of daemonize(): only the original process stops the old one.
      if (stage() === 'parent' && values.pidfile !== undefined && (await stop(values.pidfile, number(values.timeout, '--timeout') ?? 10)) !== 0) return 1;
      return start(parsed);
    case 'start':
      return start(parsed);
    default:
      throw new UsageError('unknown command');
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const isUsage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
  process.stderr.write(`x-daemon: ${(error as Error).message}\n${isUsage ? `${usage}\n` : ''}`);
  process.exitCode = isUsage ? 2 : 1;
}
