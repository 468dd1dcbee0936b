// The conventions every @x command keeps, checked on the commands as @x/lifecycle installs them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { join } from 'node:path';
import { binPath, scratchDir, waitFor } from '@x/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = scratchDir('x-cli-conventions');
const run = (bin: string, args: readonly string[]) =>
  spawnSync(process.execPath, [binPath(import.meta.url, '@x/lifecycle', bin), ...args], { encoding: 'utf8', timeout: 60_000 });
// The version of the package that owns a command, as installed beside @x/lifecycle.
const versionOf = (pkg: string) =>
  (JSON.parse(readFileSync(createRequire(import.meta.url).resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;

// One row per command.
const clis = [
  { bin: 'x-sys', pkg: '@x/sys', usage: /^usage: x-sys doctor/ },
  { bin: 'x-pidfile', pkg: '@x/pidfile', usage: /^usage:\n {2}x-pidfile status FILE/ },
  { bin: 'x-reaper', pkg: '@x/reaper', usage: /^usage: x-reaper \[options\] \[--\] command/ },
  { bin: 'x-daemon', pkg: '@x/daemon', usage: /^usage:\n {2}x-daemon start / },
] as const;

describe.each(clis)('$bin', ({ bin, pkg, usage }) => {
  it(`--version prints the version of ${pkg} and exits 0`, () => {
    expect(run(bin, ['--version'])).toMatchObject({ status: 0, stdout: `${versionOf(pkg)}\n`, stderr: '' });
  });

  it('--help prints the usage to stdout and exits 0', () => {
    const result = run(bin, ['--help']);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(usage);
  });

  it.each(['--bogus', '-Z'])('%s exits 2 with one line naming the flag, then the usage line', (flag) => {
    const result = run(bin, [flag]);
    expect(result.status).toBe(2);
    const [line, synopsis, ...more] = result.stderr.split('\n');
    expect(line).toBe(`${bin}: unknown option '${flag}'`);
    expect(synopsis).toMatch(new RegExp(`^usage: ${bin} `));
    expect(more).toEqual(['']);
  });
});

// Paths the rows below point at: a PID file nobody ever wrote, one left behind by a dead owner,
// a directory where a file is expected, and one held by a running owner.
const absent = join(dir, 'absent.pid');
const stale = join(dir, 'stale.pid');
const notAFile = join(dir, 'directory.pid');
const held = join(dir, 'held.pid');
const paths: Record<string, string> = { '<absent>': absent, '<stale>': stale, '<notAFile>': notAFile, '<held>': held };
let owner: ChildProcess | undefined;

beforeAll(async () => {
  mkdirSync(notAFile);
  // A pid that cannot be running (above any pid_max), in a file nobody locks.
  writeFileSync(stale, '4194305\n');
  // flock(1) holds the lock and execs the shell, which writes its own pid: the usual owner of a PID file.
  owner = spawn('flock', ['-n', '--no-fork', held, 'sh', '-c', `echo $$ > ${held}; exec sleep 600`], { stdio: 'ignore' });
  const written = () => {
    try {
      return readFileSync(held, 'utf8') === `${owner?.pid}\n`;
    } catch {
      return false;
    }
  };
  await waitFor(written, { message: `the owner to write its pid into ${held}`, timeout: 10_000 });
});

afterAll(() => {
  owner?.kill('SIGKILL');
});

// [command, arguments ('<held>' and the like stand for the paths above), exit code, what stderr says or '' for nothing]
type Row = readonly [bin: string, args: readonly string[], status: number, stderr: RegExp | ''];

const durations: Row[] = [
  ['x-pidfile', ['wait', '<absent>', '--timeout', '1.5'], 0, ''],
  ['x-pidfile', ['wait', '<held>', '--timeout', '.2'], 1, ''],
  ['x-pidfile', ['wait', '<held>', '--timeout', '0.2s'], 1, ''],
  ['x-pidfile', ['wait', '<absent>', '--timeout', '-1'], 2, /^x-pidfile: option '--timeout' needs a value/],
  ['x-pidfile', ['wait', '<absent>', '--timeout=-1'], 2, /^x-pidfile: --timeout needs a number of seconds/],
  ['x-pidfile', ['signal', '<held>', '0', '--wait', '100ms'], 2, /^x-pidfile: --wait needs a number of seconds/],
  ['x-daemon', ['stop', '--pidfile', '<absent>', '--timeout', '1.5'], 0, ''],
  ['x-daemon', ['stop', '--pidfile', '<absent>', '--timeout', '.5'], 0, ''],
  ['x-daemon', ['stop', '--pidfile', '<absent>', '--timeout', '2m'], 0, ''],
  ['x-daemon', ['stop', '--pidfile', '<absent>', '--timeout=-1'], 2, /^x-daemon: --timeout needs a number of seconds/],
  ['x-daemon', ['stop', '--pidfile', '<absent>', '--timeout', '0'], 2, /^x-daemon: --timeout needs a number of seconds above 0/],
  // --settle is seconds (it once took milliseconds): '100ms' is refused, not misread.
  ['x-daemon', ['start', '--settle', '100ms', '--', 'true'], 2, /^x-daemon: --settle needs a number of seconds/],
];

const signals: Row[] = [
  ['x-pidfile', ['signal', '<held>', '0'], 0, ''],
  ['x-pidfile', ['signal', '<held>', 'SIGCONT'], 0, ''],
  ['x-pidfile', ['signal', '<held>', 'cont'], 0, ''],
  ['x-pidfile', ['signal', '<held>', String(constants.signals.SIGCONT)], 0, ''],
  ['x-pidfile', ['signal', '<absent>', '9'], 3, /does not exist/],
  ['x-pidfile', ['signal', '<held>', 'SIGNOPE'], 2, /^x-pidfile: SIGNAL must be a signal name .* got 'SIGNOPE'/],
  ['x-reaper', ['-s', '-p', String(constants.signals.SIGTERM), 'true'], 0, ''],
  ['x-reaper', ['-s', '-p', 'SIGTERM', 'true'], 0, ''],
  ['x-reaper', ['-s', '-p', 'term', 'true'], 0, ''],
  ['x-reaper', ['-s', '-p', 'SIGNOPE', 'true'], 2, /^x-reaper: -p must be a signal name .* got 'SIGNOPE'/],
];

const lsb: Row[] = [
  ['x-pidfile', ['status', '<held>'], 0, ''],
  ['x-pidfile', ['status', '<stale>'], 1, ''],
  ['x-pidfile', ['status', '<absent>'], 3, ''],
  ['x-pidfile', ['status', '<notAFile>'], 4, /^x-pidfile: .* is not a regular file\n$/],
  ['x-daemon', ['status', '--pidfile', '<held>'], 0, ''],
  ['x-daemon', ['status', '--pidfile', '<stale>'], 1, ''],
  ['x-daemon', ['status', '--pidfile', '<absent>'], 3, ''],
  ['x-daemon', ['status', '--pidfile', '<notAFile>'], 4, /^x-daemon: status unknown: .* is not a regular file\n$/],
];

describe.each([
  ['durations are seconds with decimals', durations],
  ['signals are names with or without SIG, any case, or numbers', signals],
  ['status answers with the LSB codes', lsb],
])('%s', (_, rows) => {
  it.each(rows)('%s %j exits %d', (bin, args, status, stderr) => {
    const result = run(bin, args.map((arg) => paths[arg] ?? arg));
    expect(result.status, result.stderr).toBe(status);
    if (stderr === '') expect(result.stderr).toBe('');
    else expect(result.stderr).toMatch(stderr);
  });
});
