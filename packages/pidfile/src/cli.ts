#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { read } from './read.js';
import { signal, waitForExit } from './signal.js';

const usage = `usage:
  x-pidfile status <file>                              exit 0 running, 1 stale (file left behind), 3 absent
  x-pidfile signal <file> [SIGNAL] [--wait MS] [--allow-pid1]
                                                       exit 0 signalled (and gone, with --wait), 1 still
                                                       running at the deadline, 3 nobody owns the file
  x-pidfile wait <file> [--timeout MS]                 exit 0 once nobody owns it, 1 at the timeout
  errors: exit 4 (usage: 2)`;

// The LSB init-script status codes.
const RUNNING = 0;
const DEAD_WITH_FILE = 1;
const NOT_RUNNING = 3;
const FAILURE = 4;

function milliseconds(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number)) throw new UsageError(`${option} needs a whole number of milliseconds, got ${value}`);
  return number;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      wait: { type: 'string' },
      timeout: { type: 'string' },
      'allow-pid1': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const [command, path, extra, ...rest] = positionals;
  if (path === undefined || rest.length > 0) throw new UsageError('expected a command and a file');
  switch (command) {
    case 'status': {
      if (extra !== undefined) throw new UsageError('status takes one file');
      const status = read(path);
      if (status.status === 'running') {
        process.stdout.write(`running (pid ${status.pid})\n`);
        return RUNNING;
      }
      if (status.status === 'absent') {
        process.stdout.write(`not running (no ${path})\n`);
        return NOT_RUNNING;
      }
      process.stdout.write(`dead, but ${path} exists: ${status.detail}\n`);
      return DEAD_WITH_FILE;
    }
    case 'signal': {
      const wait = milliseconds(values.wait, '--wait') ?? 0;
      try {
        const sent = await signal(path, extra ?? 'SIGTERM', { wait, allowPid1: values['allow-pid1'] === true });
        process.stdout.write(`sent ${sent.signal === 0 ? 'signal 0' : sent.signal} to pid ${sent.pid}${wait > 0 ? (sent.exited ? '; it is gone' : `; still running after ${wait} ms`) : ''}\n`);
        return wait > 0 && !sent.exited ? 1 : 0;
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_PIDFILE_NOT_RUNNING') {
          process.stderr.write(`x-pidfile: ${(error as Error).message}\n`);
          return NOT_RUNNING;
        }
        throw error;
      }
    }
    case 'wait': {
      if (extra !== undefined) throw new UsageError('wait takes one file');
      const timeout = milliseconds(values.timeout, '--timeout');
      return (await waitForExit(path, timeout === undefined ? {} : { timeout })) ? 0 : 1;
    }
    default:
      throw new UsageError(`unknown command ${command ?? ''}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const isUsage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
  process.stderr.write(`x-pidfile: ${(error as Error).message}\n${isUsage ? `${usage}\n` : ''}`);
  process.exitCode = isUsage ? 2 : FAILURE;
}
