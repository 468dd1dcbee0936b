#!/usr/bin/env node
import { LSB_STATUS, parseCommandLine, parseSeconds, parseSignal, runCli, UsageError, type Cli } from '@x/sys';
import { read } from './read.js';
import { signal, waitForExit } from './signal.js';

const cli: Cli = {
  name: 'x-pidfile',
  synopsis: 'usage: x-pidfile status|signal|wait FILE [options] (x-pidfile --help for more)',
  help: `usage:
  x-pidfile status FILE                   exit 0 running, 1 dead but FILE is left behind,
                                          3 not running (no FILE), 4 unknown (FILE unreadable)
  x-pidfile signal FILE [SIGNAL] [--wait SECONDS] [--allow-pid1]
                                          signals the process that owns FILE (default TERM;
                                          a name with or without SIG, or a number: 0 only checks);
                                          exit 0 signalled (and gone, with --wait), 1 still running
                                          at the deadline, 3 nobody owns FILE
  x-pidfile wait FILE [--timeout SECONDS] exit 0 once nobody owns FILE, 1 at the timeout

  SECONDS may have decimals (0.5) or a unit (90s, 2m, 1h), as timeout(1) takes them.
  Errors exit 4, a bad command line 2.
  -h, --help     this help
  --version      the version of @x/pidfile`,
  manifest: import.meta.resolve('@x/pidfile/package.json'),
  flags: { allowPid1: '--allow-pid1' },
  failure: LSB_STATUS.unknown,
};

const options = {
  wait: { type: 'string' },
  timeout: { type: 'string' },
  'allow-pid1': { type: 'boolean' },
} as const;

// Which options each command takes; the others are refused rather than ignored.
const accepts: Record<string, readonly string[]> = { status: [], signal: ['wait', 'allow-pid1'], wait: ['timeout'] };

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(cli, argv, options, { allowPositionals: true });
  const [command, path, extra, ...rest] = positionals;
  if (command === undefined) throw new UsageError('missing command');
  if (!['status', 'signal', 'wait'].includes(command)) throw new UsageError(`unknown command '${command}'`);
  if (path === undefined) throw new UsageError(`${command} needs a FILE`);
  const unexpected = command === 'signal' ? rest[0] : (extra ?? rest[0]);
  if (unexpected !== undefined) throw new UsageError(`unexpected argument '${unexpected}'`);
  const misplaced = (Object.keys(options) as (keyof typeof options)[]).find((name) => values[name] !== undefined && !accepts[command]?.includes(name));
  if (misplaced !== undefined) throw new UsageError(`${command} takes no --${misplaced}`);
  switch (command) {
    case 'status': {
      const status = read(path);
      if (status.status === 'running') {
        process.stdout.write(`running (pid ${status.pid})\n`);
        return LSB_STATUS.running;
      }
      if (status.status === 'absent') {
        process.stdout.write(`not running (no ${path})\n`);
        return LSB_STATUS.notRunning;
      }
      process.stdout.write(`dead, but ${path} exists: ${status.detail}\n`);
      return LSB_STATUS.deadWithPidFile;
    }
    case 'signal': {
      const number = parseSignal(extra ?? 'TERM', 'SIGNAL');
      const wait = values.wait === undefined ? 0 : parseSeconds(values.wait, '--wait');
      try {
        const sent = await signal(path, number, { wait, allowPid1: values['allow-pid1'] === true });
        const after = wait === 0 ? '' : sent.exited ? '; it is gone' : `; still running after ${wait / 1000} s`;
        process.stdout.write(`sent ${sent.signal === 0 ? 'signal 0' : sent.signal} to pid ${sent.pid}${after}\n`);
        return wait > 0 && !sent.exited ? 1 : 0;
      } catch (error) {
        if ((error as { code?: string }).code !== 'ERR_PIDFILE_NOT_RUNNING') throw error;
        process.stderr.write(`x-pidfile: ${(error as Error).message}\n`);
        return LSB_STATUS.notRunning;
      }
    }
    default: {
      const timeout = values.timeout === undefined ? undefined : parseSeconds(values.timeout, '--timeout');
      return (await waitForExit(path, timeout === undefined ? {} : { timeout })) ? 0 : 1;
    }
  }
}

process.exitCode = await runCli(cli, main);
