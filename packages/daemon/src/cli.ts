#!/usr/bin/env node
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { start, status, stop, type Output } from './service.js';

const usage = `usage:
  x-daemon start [--pidfile P] [--stdout F] [--stderr F] [--cwd D] [--umask M] [--timeout S]
                 [--settle MS] [--notify] -- command [args...]
      runs the command as a daemon (the PID file names the command itself) and exits 0 once it is
      ready: when it has stayed up for --settle ms (default 500), or, with --notify, when it sends
      READY=1 to $NOTIFY_SOCKET; else ends everything it started and exits 1 (--timeout, default 30 s)
  x-daemon stop --pidfile P [--timeout S]     SIGTERM to the daemon's whole tree, SIGKILL after S s (default 10)
  x-daemon status --pidfile P                 exit 0 running, 1 dead with a PID file, 3 not running, 4 unknown
  x-daemon restart [start options] -- command [args...]`;

class UsageError extends Error {}

const output: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function seconds(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(parsed) || parsed <= 0) throw new UsageError(`${option} needs a positive number, got ${value}`);
  return parsed;
}

/** An octal umask as people write it: 022, 0022, 0o022 (also 0O022). */
function parseUmask(value: string): number {
  const match = /^(?:0[oO]?)?([0-7]{1,3})$/.exec(value) ?? /^0([0-7]{3})$/.exec(value);
  if (match === null) throw new UsageError(`--umask needs an octal mode like 022, 0022 or 0o022, got ${value}`);
  return Number.parseInt(match[1] as string, 8);
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
  if (values.help === true) return { action: 'help' as const, values, command, umask: 0o022, settle: 500 };
  if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(' ')}; put the command after --`);
  if (action === 'start' || action === 'restart') {
    if (command.length === 0) throw new UsageError(`${action} needs a command after --`);
  } else if (action === 'stop' || action === 'status') {
    if (values.pidfile === undefined) throw new UsageError(`${action} needs --pidfile`);
  } else throw new UsageError(`unknown command ${action ?? '(none)'}`);
  const umask = values.umask === undefined ? 0o022 : parseUmask(values.umask);
  const settle = values.settle === undefined ? 500 : Number(values.settle);
  if (values.settle !== undefined && !/^\d+$/.test(values.settle)) throw new UsageError(`--settle needs a number of ms, got ${values.settle}`);
  return { action, values, command, umask, settle };
}

async function main(argv: string[]): Promise<number> {
  const parsed = parse(argv);
  const { action, values } = parsed;
  const pidFile = values.pidfile === undefined ? undefined : resolve(values.pidfile);
  const startOptions = () => {
    const [file = '', ...args] = parsed.command;
    return {
      // A relative command path means the caller's directory, not --cwd.
      command: [file.includes('/') ? resolve(file) : file, ...args],
      pidFile,
      stdout: values.stdout === undefined ? undefined : resolve(values.stdout),
      stderr: values.stderr === undefined ? undefined : resolve(values.stderr),
      cwd: values.cwd === undefined ? '/' : resolve(values.cwd),
      umask: parsed.umask,
      timeout: seconds(values.timeout, '--timeout', 30) * 1000,
      settle: parsed.settle,
      notify: values.notify === true,
    };
  };
  switch (action) {
    case 'help':
      process.stdout.write(`${usage}\n`);
      return 0;
    case 'status':
      return status(pidFile as string, output);
    case 'stop':
      return stop(pidFile as string, seconds(values.timeout, '--timeout', 10) * 1000, output);
    case 'restart':
      if (pidFile !== undefined && (await stop(pidFile, seconds(values.timeout, '--timeout', 10) * 1000, output)) !== 0) return 1;
      return start(startOptions(), output);
    case 'start':
      return start(startOptions(), output);
    default:
      throw new UsageError('unknown command');
  }
}

try {
  const code = await main(process.argv.slice(2));
  // Nothing of ours has to outlive the answer (the daemon is on its own).
  process.exit(code);
} catch (error) {
  const isUsage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
  process.stderr.write(`x-daemon: ${(error as Error).message}\n${isUsage ? `${usage}\n` : ''}`);
  process.exit(isUsage ? 2 : 1);
}
