#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { parseCommandLine, parseSignal, runCli, setParentDeathSignal, shellMessage, UsageError, type Cli } from '@x/sys';
import { reap } from './reap.js';
import { isSpawnError, supervise } from './supervise.js';

const cli: Cli = {
  name: 'x-reaper',
  synopsis: 'usage: x-reaper [-sgawv] [-e CODE] [-p SIGNAL] [--] command [args...] (x-reaper --help for more)',
  help: `usage: x-reaper [options] [--] command [args...]

An init for containers: runs the command as its child, forwards signals to it, reaps every zombie,
and exits with the command's exit code (128 + signal number when a signal ended it), 125 when
x-reaper itself cannot work (it names what failed), 126/127 when the command cannot be run, and 2
for a bad command line. Options end at the command (or at --); what follows is the command's own.

  -s, --subreaper          become a child subreaper (when not running as PID 1)
  -g, --group              forward signals to the child's whole process group
  -e, --remap-exit CODE    report exit code CODE of the child as 0 (repeatable)
  -p, --parent-death-signal SIGNAL
                           have the kernel send SIGNAL to x-reaper when its parent dies
                           (PR_SET_PDEATHSIG, Linux only): TERM, SIGTERM, term or 15
  -a, --wait-all           after the child exits, wait for all other descendants too
  -w, --warn-reaped        print a warning for every zombie reaped that was not the child
  -v, --verbose            print what happens (repeat for more)
  -h, --help               this help
  --version                the version of @x/reaper`,
  manifest: import.meta.resolve('@x/reaper/package.json'),
  flags: { subreaper: '-s' },
  // x-reaper itself cannot work: tini's and docker run's code for that.
  failure: 125,
};

const options = {
  subreaper: { type: 'boolean', short: 's' },
  group: { type: 'boolean', short: 'g' },
  'remap-exit': { type: 'string', short: 'e', multiple: true },
  'parent-death-signal': { type: 'string', short: 'p' },
  'wait-all': { type: 'boolean', short: 'a' },
  'warn-reaped': { type: 'boolean', short: 'w' },
  verbose: { type: 'boolean', short: 'v', multiple: true },
} as const;

const log = (message: string) => process.stderr.write(`[x-reaper] ${message}\n`);

/** `-e` as tini takes it: an exit code from 0 to 255. */
function exitCode(value: string): number {
  if (!/^\d{1,3}$/.test(value) || Number(value) > 255) throw new UsageError(`-e needs an exit code from 0 to 255, got '${value}'`);
  return Number(value);
}

/** `-p` as a signal name or number; 0 would clear the parent-death signal rather than arm one. */
function parentDeathSignal(value: string): number {
  const number = parseSignal(value, '-p');
  if (number === 0) throw new UsageError(`-p needs a signal to send, not 0`);
  return number;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals: command } = parseCommandLine(cli, argv, options, { stopAtPositional: true });
  const remap = (values['remap-exit'] ?? []).map(exitCode);
  const signal = values['parent-death-signal'] === undefined ? undefined : parentDeathSignal(values['parent-death-signal']);
  if (command.length === 0) throw new UsageError('no command given');
  const verbose = values.verbose?.length ?? 0;
  const group = values.group === true;
  if (signal !== undefined) {
    try {
      setParentDeathSignal(signal);
    } catch (error) {
      // Off Linux there is no PR_SET_PDEATHSIG: one line saying so, not the library's advice to callers.
      if ((error as { code?: string }).code !== 'ERR_X_UNSUPPORTED_PLATFORM') throw error;
      throw new Error(`-p needs Linux (PR_SET_PDEATHSIG); this is ${process.platform}: run without -p`, { cause: error });
    }
  }
  const reaper = reap({ subreaper: values.subreaper === true });
  // It should reap but cannot: running the command anyway would pile up zombies unnoticed.
  if (reaper.error !== undefined) {
    log(`cannot reap: ${reaper.error.message}`);
    return 125;
  }
  reaper.on('error', (error) => {
    if (error !== reaper.error) log(`warning: ${error.message}`);
  });
  if (!reaper.active) {
    log(
      process.platform === 'linux'
        ? `warning: not running as PID 1 and not a child subreaper: orphaned descendants will not be adopted and reaped here; use -s, or run x-reaper as PID 1`
        : `warning: ${shellMessage(reaper.reason, cli.flags ?? {})}: orphaned descendants will not be reaped here`,
    );
  } else if (verbose > 0) log(`reaping (${reaper.reason})`);

  const [file, ...args] = command as [string, ...string[]];
  reaper.on('reap', ({ pid, code, signal: by }) => {
    if (values['warn-reaped'] === true) log(`warning: reaped zombie ${pid} (${by ?? `exit ${code ?? '?'}`})`);
    else if (verbose > 1) log(`reaped ${pid} (${by ?? `exit ${code ?? '?'}`})`);
  });
  let status: number;
  try {
    status = await supervise(
      () => {
        const child = spawn(file, args, { stdio: 'inherit', detached: group });
        if (verbose > 0 && child.pid !== undefined) log(`started ${file} as pid ${child.pid}`);
        return child;
      },
      reaper,
      {
        group,
        remap,
        waitAll: values['wait-all'] === true,
        onForward: (forwarded, target) => {
          if (verbose > 0) log(`forwarded ${forwarded} to ${target}`);
        },
      },
    );
  } catch (error) {
    reaper.stop();
    if (!isSpawnError(error)) {
      log((error as Error).message);
      return 125;
    }
    log(`cannot run ${file}: ${error.message}`);
    return error.code === 'ENOENT' ? 127 : 126;
  }
  if (verbose > 0) log(`exiting with ${status}`);
  reaper.stop();
  return status;
}

// process.exit, not exitCode: the signal handlers and the reaper must not keep x-reaper alive.
process.exit(await runCli(cli, main));
