#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { setParentDeathSignal, signalNumber } from '@x/sys';
import { reap } from './reap.js';
import { isSpawnError, supervise } from './supervise.js';

const usage = `usage: x-reaper [options] [--] command [args...]

An init for containers: runs the command as its child, forwards signals to it, reaps every zombie,
and exits with the command's exit code (128 + signal number when a signal ended it), 125 when
x-reaper itself cannot work (it names what failed), 126/127 when the command cannot be run.

  -s          become a child subreaper (when not running as PID 1)
  -g          forward signals to the child's whole process group
  -e CODE     report exit code CODE of the child as 0 (repeatable)
  -p SIGNAL   have the kernel send SIGNAL to x-reaper when its parent dies (PR_SET_PDEATHSIG)
  -a          after the child exits, wait for all other descendants too
  -w          print a warning for every zombie reaped that was not the child
  -v          print what happens (repeat for more)
  -h          this help`;

interface Options {
  subreaper: boolean;
  group: boolean;
  remap: number[];
  parentDeathSignal: string | undefined;
  waitAll: boolean;
  warn: boolean;
  verbose: number;
  command: string[];
}

class UsageError extends Error {}

function parse(argv: string[]): Options | 'help' {
  const options: Options = { subreaper: false, group: false, remap: [], parentDeathSignal: undefined, waitAll: false, warn: false, verbose: 0, command: [] };
  let index = 0;
  const value = (flag: string) => {
    const next = argv[++index];
    if (next === undefined) throw new UsageError(`${flag} needs a value`);
    return next;
  };
  for (; index < argv.length; index++) {
    const arg = argv[index] as string;
    if (arg === '--') {
      index++;
      break;
    }
    if (arg === '--help') return 'help';
    if (!arg.startsWith('-') || arg === '-') break;
    // Flags may be grouped (-sgv), as tini allows.
    for (const flag of arg.slice(1)) {
      switch (flag) {
        case 's': options.subreaper = true; break;
        case 'g': options.group = true; break;
        case 'a': options.waitAll = true; break;
        case 'w': options.warn = true; break;
        case 'v': options.verbose += 1; break;
        case 'h': return 'help';
        case 'e': {
          const code = value('-e');
          if (!/^\d{1,3}$/.test(code) || Number(code) > 255) throw new UsageError(`-e needs an exit code from 0 to 255, got ${code}`);
          options.remap.push(Number(code));
          break;
        }
        case 'p': options.parentDeathSignal = value('-p'); break;
        default: throw new UsageError(`unknown option -${flag}`);
      }
    }
  }
  options.command = argv.slice(index);
  if (options.command.length === 0) throw new UsageError('no command given');
  return options;
}

const log = (message: string) => process.stderr.write(`[x-reaper] ${message}\n`);

async function main(argv: string[]): Promise<number> {
  let options: Options | 'help';
  try {
    options = parse(argv);
    if (options !== 'help' && options.parentDeathSignal !== undefined) signalNumber(options.parentDeathSignal);
  } catch (error) {
    process.stderr.write(`x-reaper: ${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (options.parentDeathSignal !== undefined) setParentDeathSignal(options.parentDeathSignal);
  const reaper = reap({ subreaper: options.subreaper });
  // It should reap but cannot: running the command anyway would pile up zombies unnoticed.
  if (reaper.error !== undefined) {
    log(`cannot reap: ${reaper.error.message}`);
    return 125;
  }
  reaper.on('error', (error) => {
    if (error !== reaper.error) log(`warning: ${error.message}`);
  });
  if (!reaper.active) {
    log(`warning: not running as PID 1 and not a child subreaper: orphaned descendants will not be adopted and reaped here; use -s, or run x-reaper as PID 1`);
  } else if (options.verbose > 0) log(`reaping (${reaper.reason})`);

  const [command, ...args] = options.command as [string, ...string[]];
  reaper.on('reap', ({ pid, code, signal }) => {
    if (options.warn) log(`warning: reaped zombie ${pid} (${signal ?? `exit ${code ?? '?'}`})`);
    else if (options.verbose > 1) log(`reaped ${pid} (${signal ?? `exit ${code ?? '?'}`})`);
  });
  let status: number;
  try {
    status = await supervise(
      () => {
        const child = spawn(command, args, { stdio: 'inherit', detached: options.group });
        if (options.verbose > 0 && child.pid !== undefined) log(`started ${command} as pid ${child.pid}`);
        return child;
      },
      reaper,
      {
        group: options.group,
        remap: options.remap,
        waitAll: options.waitAll,
        onForward: (signal, target) => {
          if (options.verbose > 0) log(`forwarded ${signal} to ${target}`);
        },
      },
    );
  } catch (error) {
    reaper.stop();
    if (!isSpawnError(error)) {
      log((error as Error).message);
      return 125;
    }
    log(`cannot run ${command}: ${error.message}`);
    return error.code === 'ENOENT' ? 127 : 126;
  }
  if (options.verbose > 0) log(`exiting with ${status}`);
  reaper.stop();
  return status;
}

process.exit(await main(process.argv.slice(2)));
