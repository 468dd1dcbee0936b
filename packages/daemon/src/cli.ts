#!/usr/bin/env node
import { resolve } from 'node:path';
import { LSB_STATUS, parseCommandLine, parseSeconds, runCli, shellMessage, UsageError, type Cli } from '@x/sys';
import { messageOf } from './errors.js';
import type { Output } from './output.js';
import { START_DEFAULTS, STOP_DEFAULTS } from './service-options.js';
import { start } from './start.js';
import { status } from './status.js';
import { stop } from './stop.js';

const cli: Cli = {
  name: 'x-daemon',
  synopsis: 'usage: x-daemon start|stop|status|restart [options] [-- command [args...]] (x-daemon --help for more)',
  help: `usage:
  x-daemon start [--pidfile P] [--create-directory] [--stdout F] [--stderr F] [--cwd D] [--umask M]
                 [--timeout SECONDS] [--settle SECONDS] [--notify] -- command [args...]
      runs the command as a daemon (the PID file names the command itself) and exits 0 once it is
      ready: when it has stayed up for --settle seconds (default ${START_DEFAULTS.settle / 1000}), or, with --notify, when it
      sends READY=1 to $NOTIFY_SOCKET; else ends everything it started and exits 1 (--timeout,
      default ${START_DEFAULTS.timeout / 1000} seconds)
  x-daemon stop --pidfile P [--timeout SECONDS]
      SIGTERM to the daemon's whole tree, SIGKILL after --timeout (default ${STOP_DEFAULTS.timeout / 1000} seconds)
  x-daemon status --pidfile P
      exit 0 running, 1 dead with a PID file, 3 not running, 4 unknown
  x-daemon restart [start options] -- command [args...]

  SECONDS may have decimals (0.5) or a unit (90s, 2m, 1h), as timeout(1) takes them.
  A bad command line exits 2.
  -h, --help     this help
  --version      the version of @x/daemon`,
  manifest: import.meta.resolve('@x/daemon/package.json'),
  flags: { createDirectory: '--create-directory' },
};

const output: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  // The library's option names (a PID file's `{ createDirectory: true }`) as x-daemon's flags.
  err: (line) => process.stderr.write(`${shellMessage(line, cli.flags ?? {})}\n`),
};

const options = {
  pidfile: { type: 'string' },
  'create-directory': { type: 'boolean' },
  stdout: { type: 'string' },
  stderr: { type: 'string' },
  cwd: { type: 'string' },
  umask: { type: 'string' },
  timeout: { type: 'string' },
  settle: { type: 'string' },
  notify: { type: 'boolean' },
} as const;

// Which options each action takes; the others are refused rather than ignored.
const START = ['pidfile', 'create-directory', 'stdout', 'stderr', 'cwd', 'umask', 'timeout', 'settle', 'notify'];
const accepts: Record<string, readonly string[]> = { start: START, restart: START, stop: ['pidfile', 'timeout'], status: ['pidfile'] };

/** An octal umask as people write it: 022, 0022, 0o022 (also 0O022). */
function parseUmask(value: string): number {
  const match = /^(?:0[oO]?)?([0-7]{1,3})$/.exec(value) ?? /^0([0-7]{3})$/.exec(value);
  if (match === null) throw new UsageError(`--umask needs an octal mode like 022, 0022 or 0o022, got '${value}'`);
  return Number.parseInt(match[1] as string, 8);
}

function parse(argv: string[]) {
  // The command after -- is the daemon's own, flags and all.
  const separator = argv.indexOf('--');
  const own = separator < 0 ? argv : argv.slice(0, separator);
  const command = separator < 0 ? [] : argv.slice(separator + 1);
  const { values, positionals } = parseCommandLine(cli, own, options, { allowPositionals: true });
  const [action, ...extra] = positionals;
  if (action === undefined) throw new UsageError('missing command (start, stop, status or restart)');
  const taken = accepts[action];
  if (taken === undefined) throw new UsageError(`unknown command '${action}'`);
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0] as string}'${action === 'start' || action === 'restart' ? '; put the command after --' : ''}`);
  const misplaced = (Object.keys(options) as (keyof typeof options)[]).find((name) => values[name] !== undefined && !taken.includes(name));
  if (misplaced !== undefined) throw new UsageError(`${action} takes no --${misplaced}`);
  if (action === 'start' || action === 'restart') {
    if (command.length === 0) throw new UsageError(`${action} needs a command after --`);
  } else {
    if (separator >= 0) throw new UsageError(`${action} takes no command`);
    if (values.pidfile === undefined) throw new UsageError(`${action} needs --pidfile`);
  }
  // Options left out stay undefined: start() and stop() fill in their defaults.
  return {
    action,
    values,
    command,
    umask: values.umask === undefined ? undefined : parseUmask(values.umask),
    settle: values.settle === undefined ? undefined : parseSeconds(values.settle, '--settle'),
    timeout: values.timeout === undefined ? undefined : parseSeconds(values.timeout, '--timeout', { allowZero: false }),
  };
}

async function main(argv: string[]): Promise<number> {
  const parsed = parse(argv);
  const { action, values } = parsed;
  // Sessions, process groups and /bin/sh are what x-daemon is made of; Windows has none of them.
  if (process.platform === 'win32') {
    process.stderr.write(`${cli.name}: needs a POSIX system (setsid, process groups, /bin/sh), and this is Windows: run the command under a service manager instead\n`);
    return action === 'status' ? LSB_STATUS.unknown : 1;
  }
  const pidFile = values.pidfile === undefined ? undefined : resolve(values.pidfile);
  const startOptions = () => {
    const [file = '', ...args] = parsed.command;
    return {
      // A relative command path means the caller's directory, not --cwd.
      command: [file.includes('/') ? resolve(file) : file, ...args],
      pidFile,
      createDirectory: values['create-directory'],
      stdout: values.stdout === undefined ? undefined : resolve(values.stdout),
      stderr: values.stderr === undefined ? undefined : resolve(values.stderr),
      cwd: values.cwd === undefined ? undefined : resolve(values.cwd),
      umask: parsed.umask,
      timeout: parsed.timeout,
      settle: parsed.settle,
      notify: values.notify,
    };
  };
  switch (action) {
    case 'status':
      try {
        return status(pidFile as string, output);
      } catch (error) {
        // LSB: a status that cannot be determined is 4, whatever went wrong.
        output.err(`x-daemon: status unknown: ${messageOf(error)}`);
        return LSB_STATUS.unknown;
      }
    case 'stop':
      return stop(pidFile as string, { timeout: parsed.timeout }, output);
    case 'restart':
      // restart's stop waits as long as a stop would, unless --timeout says otherwise.
      if (pidFile !== undefined && (await stop(pidFile, { timeout: parsed.timeout }, output)) !== 0) return 1;
      return start(startOptions(), output);
    default:
      return start(startOptions(), output);
  }
}

// process.exit, not exitCode: nothing of ours has to outlive the answer (the daemon is on its own).
process.exit(await runCli(cli, main));
