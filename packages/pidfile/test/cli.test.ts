import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binPath, isAlive, pidNamespaces, scratchDir } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { holder, holding } from './helpers.js';

const dir = scratchDir('x-pidfile');
// The bin as a user gets it: resolved through the package's own manifest.
const cli = binPath(import.meta.url, '@x/pidfile', 'x-pidfile');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
const synopsis = 'usage: x-pidfile status|signal|wait FILE [options] (x-pidfile --help for more)\n';

describe('x-pidfile', () => {
  it('status follows the LSB exit codes: 0 running, 1 dead with a file, 3 not running', async () => {
    const path = join(dir, 'status.pid');
    expect(run('status', path)).toMatchObject({ status: 3, stdout: `not running (no ${path})\n` });
    const owner = await holder(path);
    expect(run('status', path)).toMatchObject({ status: 0, stdout: `running (pid ${owner.pid})\n` });
    owner.child.kill('SIGKILL');
    await owner.exit();
    const stale = run('status', path);
    expect(stale.status).toBe(1);
    expect(stale.stdout).toMatch(/^dead, but .* exists: nobody holds the lock/);
  });

  it('status exits 4 (unknown) with one line when the file cannot be read', () => {
    const path = join(dir, 'a-directory.pid');
    mkdirSync(path, { recursive: true });
    expect(run('status', path)).toMatchObject({ status: 4, stdout: '', stderr: `x-pidfile: ${path} is not a regular file\n` });
  });

  it('signal confirms the owner, signals it and waits for seconds', async () => {
    const path = join(dir, 'signal.pid');
    const owner = await holder(path);
    const result = run('signal', path, 'TERM', '--wait', '5');
    expect(result).toMatchObject({ status: 0, stdout: `sent SIGTERM to pid ${owner.pid}; it is gone\n` });
    expect(isAlive(owner.pid)).toBe(false);
    writeFileSync(path, `${process.pid}\n`);
    const refused = run('signal', path);
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain('refusing to signal');
    expect(isAlive(process.pid)).toBe(true);
  });

  it('signal 0 only checks that the owner runs, and leaves it running', async () => {
    const path = join(dir, 'signal-0.pid');
    const owner = await holder(path);
    expect(run('signal', path, '0')).toMatchObject({ status: 0, stdout: `sent signal 0 to pid ${owner.pid}\n` });
    expect(isAlive(owner.pid)).toBe(true);
    owner.child.kill('SIGKILL');
    await owner.exit();
  });

  it.each(['15', 'sigterm', 'SIGTERM'])('signal takes %j as SIGTERM, and --wait decimals of a second', async (name) => {
    const path = join(dir, `signal-${name}.pid`);
    const owner = await holder(path);
    expect(run('signal', path, name, '--wait', '4.5')).toMatchObject({ status: 0, stdout: `sent SIGTERM to pid ${owner.pid}; it is gone\n` });
    expect(isAlive(owner.pid)).toBe(false);
  });

  it('signal --wait exits 1 when the owner outlives the deadline, which is in seconds', async () => {
    const path = join(dir, 'ignores.pid');
    const owner = await holding('ignores-sigterm.mjs', path);
    const started = performance.now();
    const result = run('signal', path, 'TERM', '--wait', '0.3');
    // A deadline read as ms would be over at once; read as seconds it lasts 300 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    expect(result).toMatchObject({ status: 1, stdout: `sent SIGTERM to pid ${owner.pid}; still running after 0.3 s\n` });
    // It had the signal, and outlived it.
    expect(await owner.nextLine()).toBe('ignored SIGTERM');
    expect(isAlive(owner.pid)).toBe(true);
    owner.child.kill('SIGKILL');
    await owner.exit();
  });

  it('wait returns once the owner is gone, or 1 at a timeout in seconds', async () => {
    const path = join(dir, 'wait.pid');
    const owner = await holder(path);
    const started = performance.now();
    expect(run('wait', path, '--timeout', '0.3').status).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    owner.child.kill('SIGKILL');
    await owner.exit();
    expect(run('wait', path, '--timeout', '5').status).toBe(0);
  });

  it.runIf(pidNamespaces.ok)('refuses pid 1 saying which flag allows it, and signals it with --allow-pid1', () => {
    const path = join(dir, 'init.pid');
    // PID 1 of a fresh namespace (a container's init) holds the PID file: flock(1) execs the shell, lock inherited.
    const script = `echo 1 > "$1"; for extra in '' --allow-pid1; do "$2" "$3" signal "$1" 0 $extra 2>&1; echo "exit $?"; done`;
    const result = spawnSync('unshare', ['-p', '-f', '--mount-proc', '--kill-child', 'flock', '-n', '--no-fork', path, 'sh', '-c', script, 'sh', path, process.execPath, cli], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.stdout).toBe(`x-pidfile: ${path} names pid 1 (init); pass --allow-pid1 if that is really meant\nexit 4\nsent signal 0 to pid 1\nexit 0\n`);
    expect(readFileSync(path, 'utf8')).toBe('1\n');
  });

  it.each([
    [[], 'missing command'],
    [['status'], 'status needs a FILE'],
    [['frobnicate', '/tmp/x.pid'], "unknown command 'frobnicate'"],
    [['status', '/tmp/x.pid', '--bogus'], "unknown option '--bogus'"],
    [['status', '/tmp/x.pid', 'extra'], "unexpected argument 'extra'"],
    [['status', '/tmp/x.pid', '--wait', '1'], 'status takes no --wait'],
    [['signal', '/tmp/x.pid', '--wait'], "option '--wait' needs a value"],
    [['signal', '/tmp/x.pid', '--wait=-1'], "--wait needs a number of seconds (like 10, 0.5 or 2m), got '-1'"],
    [['signal', '/tmp/x.pid', 'NOPE'], "SIGNAL must be a signal name (TERM, SIGTERM, kill) or number (0, 9, 15), got 'NOPE'"],
    [['signal', '/tmp/x.pid', '999'], "SIGNAL must be a signal name (TERM, SIGTERM, kill) or number (0, 9, 15), got '999'"],
    [['wait', '/tmp/x.pid', '--timeout', 'soon'], "--timeout needs a number of seconds (like 10, 0.5 or 2m), got 'soon'"],
    [['wait', '/tmp/x.pid', '--allow-pid1'], 'wait takes no --allow-pid1'],
  ])('%j exits 2 with one line saying why and the usage line', (args, message) => {
    const result = run(...args);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`x-pidfile: ${message}\n${synopsis}`);
  });

  it('--help names the units and codes; --version prints the version of @x/pidfile', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('[--wait SECONDS]');
    expect(help.stdout).toContain('[--timeout SECONDS]');
    const { version } = JSON.parse(readFileSync(new URL(import.meta.resolve('@x/pidfile/package.json')), 'utf8')) as { version: string };
    expect(run('--version')).toMatchObject({ status: 0, stdout: `${version}\n`, stderr: '' });
  });
});
