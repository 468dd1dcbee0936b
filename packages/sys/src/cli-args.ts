// The conventions every @x command shares, as coreutils, tini and start-stop-daemon users expect them:
// --help and --version exit 0, a bad command line exits 2 with one line naming the problem and the
// usage line, durations are seconds (decimals allowed, as timeout(1) takes them), signals are names
// or numbers, and status answers use the LSB init-script codes.
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { signalNumber } from './signals.js';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** The LSB init-script codes of a `status` command. */
export const LSB_STATUS = {
  /** The program is running. */
  running: 0,
  /** The program is dead and its PID file still exists. */
  deadWithPidFile: 1,
  /** The program is not running. */
  notRunning: 3,
  /** The status could not be determined. */
  unknown: 4,
} as const;

/** The exit code of a bad command line. */
export const EXIT_USAGE = 2;

/** A bad command line: `runCli` prints `<name>: <message>` and the usage line, and exits 2. */
export class UsageError extends Error {}
Object.defineProperty(UsageError.prototype, 'name', { value: 'UsageError', configurable: true });

/** Ends a command with `code` from anywhere inside it (after --help, --version): `runCli` returns it. */
export class CliExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}
Object.defineProperty(CliExit.prototype, 'name', { value: 'CliExit', configurable: true });

/** What a command is called and says about itself. */
export interface Cli {
  /** The command's name, the prefix of its messages: 'x-pidfile'. */
  readonly name: string;
  /** One line, printed after a usage error: 'usage: x-pidfile status|signal|wait FILE [options]'. */
  readonly synopsis: string;
  /** The whole usage text, printed to stdout by --help. */
  readonly help: string;
  /** The package.json whose `version` --version prints: `import.meta.resolve('@x/pidfile/package.json')`. */
  readonly manifest: string | URL;
  /** Option names of the library as the command's flags, for its errors' messages: `{ allowPid1: '--allow-pid1' }`. */
  readonly flags?: Readonly<Record<string, string>>;
  /** The exit code of any other error. Default 1. */
  readonly failure?: number;
}

// Node's timers fire at once beyond this; no command should wait longer in one go.
const MAX_MS = 2 ** 31 - 1;
const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * A duration given in seconds, with decimals and an optional unit as timeout(1) takes it (`10`, `0.5`,
 * `1.25`, `.5`, `90s`, `2m`, `1h`, `1d`), in milliseconds (rounded up, so a positive value never
 * becomes 0). Throws UsageError naming `flag` for anything else, negatives, and 0 unless `allowZero`.
 */
export function parseSeconds(value: string, flag: string, options: { allowZero?: boolean } = {}): number {
  const { allowZero = true } = options;
  const match = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(value);
  const ms = match === null ? Number.NaN : Math.ceil(Number(match[1]) * (UNITS[match[2] as string] as number) * 1000);
  if (!Number.isFinite(ms) || (ms === 0 && !allowZero)) {
    throw new UsageError(`${flag} needs a number of seconds${allowZero ? '' : ' above 0'} (like 10, 0.5 or 2m), got '${value}'`);
  }
  if (ms > MAX_MS) throw new UsageError(`${flag} can be at most ${Math.floor(MAX_MS / 1000)} seconds (24 days), got '${value}'`);
  return ms;
}

/**
 * A signal as a shell user writes it: a name with or without SIG in any case (`TERM`, `sigterm`,
 * `SIGTERM`) or a number (`0`, `9`, `15`; 0 only probes). Returns its number; throws UsageError naming
 * `flag` (or "signal") for anything this platform lacks.
 */
export function parseSignal(value: string, flag = 'signal'): number {
  try {
    if (/^\d+$/.test(value)) return signalNumber(Number(value));
    if (/^[a-z]\w*$/i.test(value)) return signalNumber(value);
  } catch {
    // Said below, in shell terms rather than the library's.
  }
  throw new UsageError(`${flag} must be a signal name (TERM, SIGTERM, kill) or number (0, 9, 15), got '${value}'`);
}

/** The `version` of the package.json at `manifest` (a file URL or path). */
export function readVersion(manifest: string | URL): string {
  const url = typeof manifest === 'string' && !manifest.startsWith('file:') ? manifest : new URL(manifest);
  const { version } = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
  if (typeof version !== 'string') throw new Error(`${String(manifest)} has no version`);
  return version;
}

/**
 * `message` with the library's option objects in it (`pass { allowPid1: true }`) spoken as the
 * command's flags (`pass --allow-pid1`), for every key `flags` maps. Other text stays as it is.
 */
export function shellMessage(message: string, flags: Readonly<Record<string, string>>): string {
  return message.replace(/\{ (\w+): [^{}]* \}/g, (text, key: string) => (Object.hasOwn(flags, key) ? (flags[key] as string) : text));
}

/** What `parseCommandLine` returns: parseArgs' typed values and the positionals. */
export interface CommandLine<O extends OptionsConfig> {
  values: ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: true }>>['values'];
  positionals: string[];
}

/**
 * Parses `argv` with node:util parseArgs plus `--help`/`-h` (prints `cli.help` to stdout) and
 * `--version` (prints the version), both ending the command with 0 by throwing CliExit. A bad command
 * line throws UsageError with one line of its own: `unknown option '--bar'`, `option '--wait' needs a
 * value`, never parseArgs' text. Positionals are refused unless `allowPositionals`. With
 * `stopAtPositional` (a command runner: `x-reaper -s node app.js --inspect`), options end at the first
 * positional or `--`, and `positionals` is the rest of `argv` as it was, the command's own flags included.
 */
export function parseCommandLine<const O extends OptionsConfig>(
  cli: Cli,
  argv: readonly string[],
  options: O,
  config: { allowPositionals?: boolean; stopAtPositional?: boolean } = {},
): CommandLine<O> {
  const all: OptionsConfig = { ...options, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } };
  let args = [...argv];
  let rest: string[] | undefined;
  if (config.stopAtPositional === true) {
    // Tokens are read left to right, so those before the first positional do not depend on what follows it.
    const first = parseArgs({ args, options: all, strict: false, allowPositionals: true, tokens: true }).tokens.find((token) => token.kind !== 'option');
    if (first !== undefined) {
      rest = args.slice(first.kind === 'positional' ? first.index : first.index + 1);
      args = args.slice(0, first.index);
    }
  }
  // Not strict: its errors are Node's prose; the tokens let us say the same in one line of our own.
  const { values, positionals, tokens } = parseArgs({ args, options: all, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'positional' && config.allowPositionals !== true && config.stopAtPositional !== true) throw new UsageError(`unexpected argument '${token.value}'`);
    if (token.kind !== 'option') continue;
    const option = all[token.name];
    if (option === undefined) throw new UsageError(`unknown option '${token.rawName}'`);
    if (option.type === 'boolean' && token.value !== undefined) throw new UsageError(`option '${token.rawName}' takes no value`);
    if (option.type === 'string' && token.value === undefined) throw new UsageError(`option '${token.rawName}' needs a value`);
    // `--wait --json` or `--wait -1`: as parseArgs' strict mode, a value that looks like an option must be inline.
    if (option.type === 'string' && token.inlineValue === false && token.value.startsWith('-')) {
      throw new UsageError(`option '${token.rawName}' needs a value (write ${token.rawName}=${token.value} if that was it)`);
    }
  }
  if (values.help === true) {
    process.stdout.write(`${cli.help}\n`);
    throw new CliExit(0);
  }
  if (values.version === true) {
    process.stdout.write(`${readVersion(cli.manifest)}\n`);
    throw new CliExit(0);
  }
  delete values.help;
  delete values.version;
  return { values: values as CommandLine<O>['values'], positionals: rest ?? positionals };
}

/**
 * Runs a command's `main` and returns its exit code: CliExit's code; 2 after a UsageError, with
 * `<name>: <message>` and the synopsis on stderr; `cli.failure` (default 1) after any other error,
 * with `<name>: <message>` (library option names spoken as `cli.flags`). Set process.exitCode to it,
 * or pass it to process.exit when nothing of the command may outlive it.
 */
export async function runCli(cli: Cli, main: (argv: string[]) => number | Promise<number>, argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  try {
    return await main([...argv]);
  } catch (error) {
    if (error instanceof CliExit) return error.code;
    if (error instanceof UsageError) {
      process.stderr.write(`${cli.name}: ${error.message}\n${cli.synopsis}\n`);
      return EXIT_USAGE;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${cli.name}: ${shellMessage(message, cli.flags ?? {})}\n`);
    return cli.failure ?? 1;
  }
}
