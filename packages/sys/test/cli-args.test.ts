import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { EXIT_USAGE, LSB_STATUS, parseCommandLine, parseSeconds, parseSignal, readVersion, shellMessage, UsageError, type Cli } from '@x/sys';
import { describe, expect, it } from 'vitest';

const manifest = import.meta.resolve('@x/sys/package.json');
const cli: Cli = { name: 'x-test', synopsis: 'usage: x-test [--json] [--wait SECONDS]', help: 'usage: x-test …', manifest };
const options = { json: { type: 'boolean', short: 'j' }, wait: { type: 'string' } } as const;

/** The UsageError message `run` throws, or a failure when it throws nothing or something else. */
function usageMessage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseSeconds', () => {
  it.each([
    ['10', 10_000],
    ['0.5', 500],
    ['1.25', 1250],
    ['.5', 500],
    ['2.', 2000],
    ['0', 0],
    ['90s', 90_000],
    ['1.5m', 90_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    // Rounded up: a positive duration never becomes "do not wait".
    ['0.0001', 1],
  ])('reads %j as %d ms', (value, ms) => {
    expect(parseSeconds(value, '--wait')).toBe(ms);
  });

  it.each(['-1', '-0.5', '', ' 1', '1 ', 'soon', '1e3', '0x10', 'Infinity', 'NaN', '1.2.3', '5ms', '1w', '+1', '.', '25d'])(
    'refuses %j with a message naming the flag',
    (value) => {
      expect(usageMessage(() => parseSeconds(value, '--timeout'))).toMatch(/^--timeout (needs a number of seconds|can be at most)/);
    },
  );

  it('refuses 0 when a positive duration is needed', () => {
    expect(usageMessage(() => parseSeconds('0', '--timeout', { allowZero: false }))).toBe("--timeout needs a number of seconds above 0 (like 10, 0.5 or 2m), got '0'");
    expect(parseSeconds('0.001', '--timeout', { allowZero: false })).toBe(1);
  });
});

describe('parseSignal', () => {
  it.each([
    ['TERM', constants.signals.SIGTERM],
    ['SIGTERM', constants.signals.SIGTERM],
    ['sigterm', constants.signals.SIGTERM],
    ['term', constants.signals.SIGTERM],
    ['Kill', constants.signals.SIGKILL],
    ['HUP', constants.signals.SIGHUP],
    ['0', 0],
    ['9', 9],
    ['15', 15],
    [String(constants.signals.SIGUSR1), constants.signals.SIGUSR1],
  ])('reads %j as signal %d', (value, number) => {
    expect(parseSignal(value)).toBe(number);
  });

  it.each(['', 'SIG', 'NOPE', 'SIGNOPE', '-9', '9.0', '999', '1e1', ' 9', 'TERM ', '0x9'])('refuses %j in shell terms', (value) => {
    expect(usageMessage(() => parseSignal(value, '-p'))).toBe(`-p must be a signal name (TERM, SIGTERM, kill) or number (0, 9, 15), got '${value}'`);
  });
});

describe('parseCommandLine', () => {
  it('returns the typed values and positionals', () => {
    expect(parseCommandLine(cli, ['a', '--wait', '1', '-j', 'b'], options, { allowPositionals: true })).toEqual({
      values: { wait: '1', json: true },
      positionals: ['a', 'b'],
    });
    expect(parseCommandLine(cli, ['--wait=-1', '--', '--json'], options, { allowPositionals: true })).toEqual({
      values: { wait: '-1' },
      positionals: ['--json'],
    });
  });

  it.each([
    [['-j', 'node', 'app.js', '--wait', '-x'], { json: true }, ['node', 'app.js', '--wait', '-x']],
    [['--wait', '1', '--', '--json', 'b'], { wait: '1' }, ['--json', 'b']],
    [['--wait', 'node', 'x'], { wait: 'node' }, ['x']],
    [['-j'], { json: true }, []],
    [['--', '--', 'x'], {}, ['--', 'x']],
  ])('with stopAtPositional, %j runs options up to the command and hands the rest over untouched', (argv, values, rest) => {
    expect(parseCommandLine(cli, argv, options, { stopAtPositional: true })).toEqual({ values, positionals: rest });
  });

  it('with stopAtPositional, still refuses an unknown option before the command', () => {
    expect(usageMessage(() => parseCommandLine(cli, ['-x', 'node'], options, { stopAtPositional: true }))).toBe("unknown option '-x'");
  });

  it.each([
    [['--bar'], "unknown option '--bar'"],
    [['-x'], "unknown option '-x'"],
    [['-jx'], "unknown option '-x'"],
    [['--no-json'], "unknown option '--no-json'"],
    [['--wait'], "option '--wait' needs a value"],
    [['--wait', '--json'], "option '--wait' needs a value (write --wait=--json if that was it)"],
    [['--json=yes'], "option '--json' takes no value"],
    [['--help=1'], "option '--help' takes no value"],
    [['extra'], "unexpected argument 'extra'"],
    // An unknown flag is reported even beside --help, as coreutils do.
    [['--help', '--bar'], "unknown option '--bar'"],
  ])('turns %j into one line of its own', (argv, message) => {
    const text = usageMessage(() => parseCommandLine(cli, argv, options));
    expect(text).toBe(message);
    expect(text).not.toContain('\n');
  });
});

describe('shellMessage', () => {
  const flags = { allowPid1: '--allow-pid1', createDirectory: '--create-directory', wait: '--wait SECONDS' };
  it.each([
    ['x.pid names pid 1 (init); pass { allowPid1: true } if that is really meant', 'x.pid names pid 1 (init); pass --allow-pid1 if that is really meant'],
    ['the directory of /a/b.pid does not exist; create it or pass { createDirectory: true }', 'the directory of /a/b.pid does not exist; create it or pass --create-directory'],
    ['locked by pid 4; stop it first, or pass { wait: ms } to wait for it', 'locked by pid 4; stop it first, or pass --wait SECONDS to wait for it'],
    // Options the command has no flag for stay as the library says them.
    ['pass { signal: AbortSignal } to stop', 'pass { signal: AbortSignal } to stop'],
    ['no options here', 'no options here'],
  ])('speaks %j as shell', (message, expected) => {
    expect(shellMessage(message, flags)).toBe(expected);
  });
});

describe('readVersion and the exit codes', () => {
  it('reads the version of a package.json given by URL or path', () => {
    const { version } = JSON.parse(readFileSync(new URL(manifest), 'utf8')) as { version: string };
    expect(readVersion(manifest)).toBe(version);
    expect(readVersion(new URL(manifest))).toBe(version);
    expect(readVersion(new URL(manifest).pathname)).toBe(version);
  });

  it('uses the LSB init-script status codes and 2 for a bad command line', () => {
    expect(LSB_STATUS).toEqual({ running: 0, deadWithPidFile: 1, notRunning: 3, unknown: 4 });
    expect(EXIT_USAGE).toBe(2);
  });
});
