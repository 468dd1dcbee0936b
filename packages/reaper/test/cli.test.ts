import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { binPath, deadline, scratchDir, startFixture, startSimulated, waitFor, type Fixture } from '@x/test-utils';
import { isAlive, pidExists, pidNamespaces } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { mountNamespaces, withForeignProc, withoutProc } from './helpers.js';

// The command as an install links it: through the manifest's bin.
const cli = binPath(import.meta.url, '@x/reaper', 'x-reaper');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 30_000 });
const scratch = scratchDir('x-reaper');

/** x-reaper running `script` in sh; resolves once the script printed its first line. */
async function reaper(flags: string[], script: string): Promise<{ fixture: Fixture; first: string }> {
  const fixture = startFixture(process.execPath, [cli, ...flags, '--', 'sh', '-c', script]);
  return { fixture, first: await fixture.nextLine() };
}

describe('x-reaper exit codes', () => {
  it('passes through every exit code from 0 to 255', async () => {
    const codes = Array.from({ length: 256 }, (_, code) => code);
    const wrong: string[] = [];
    for (let start = 0; start < codes.length; start += 32) {
      const batch = codes.slice(start, start + 32).map(
        (code) =>
          new Promise<void>((resolve) => {
            const child = spawn(process.execPath, [cli, '-s', 'sh', '-c', `exit ${code}`], { stdio: ['ignore', 'ignore', 'pipe'] });
            let stderr = '';
            child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
            child.once('close', (exit, signal) => {
              if (exit !== code) wrong.push(`exit ${code} came back as ${exit ?? signal ?? '?'}: ${stderr.trim() || 'no stderr'}`);
              resolve();
            });
          }),
      );
      await deadline(Promise.all(batch), 60_000, `x-reaper to exit with codes ${start} to ${start + 31}`);
    }
    expect(wrong).toEqual([]);
    // 256 Node start-ups: on 2 busy cores that alone can take a minute; the bound is for hangs, not speed.
  }, 180_000);

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
    ['SIGUSR1', 138],
    ['SIGUSR2', 140],
  ])('exits 128 + n when the child dies of %s', (signal, code) => {
    expect(run('-s', 'sh', '-c', `kill -${signal.slice(3)} $$`).status).toBe(code);
  });

  it('remaps exit codes with -e, repeatably', () => {
    expect(run('-s', '-e', '3', '-e', '4', 'sh', '-c', 'exit 4').status).toBe(0);
    expect(run('-s', '-e', '3', 'sh', '-c', 'exit 5').status).toBe(5);
  });

  it('exits 127 for a command that does not exist and 126 for one that cannot be executed', () => {
    const notExecutable = join(scratch, 'plain-file');
    writeFileSync(notExecutable, 'echo hi\n');
    chmodSync(notExecutable, 0o644);
    const missing = run('-s', 'x-no-such-command');
    expect(missing.status).toBe(127);
    expect(missing.stderr).toContain('cannot run x-no-such-command');
    expect(run('-s', notExecutable).status).toBe(126);
  });

  it.each([
    [['-x', 'true'], "unknown option '-x'"],
    [['-sx', 'true'], "unknown option '-x'"],
    [['--bogus', 'true'], "unknown option '--bogus'"],
    [['-e'], "option '-e' needs a value"],
    [['-e', '300', 'true'], "-e needs an exit code from 0 to 255, got '300'"],
    [['-p', 'SIGNOPE', 'true'], "-p must be a signal name (TERM, SIGTERM, kill) or number (0, 9, 15), got 'SIGNOPE'"],
    [['-p', '0', 'true'], '-p needs a signal to send, not 0'],
    [[], 'no command given'],
    [['--'], 'no command given'],
  ])('%j exits 2 with one line naming the problem, then the usage line', (args, line) => {
    const result = run(...args);
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n')).toEqual([`x-reaper: ${line}`, expect.stringMatching(/^usage: x-reaper \[/), '']);
  });

  it('--version prints the version of @x/reaper; --help the usage, both exit 0', () => {
    const { version } = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('@x/reaper/package.json'), 'utf8')) as { version: string };
    expect(run('--version')).toMatchObject({ status: 0, stdout: `${version}\n`, stderr: '' });
    const help = run('--help');
    expect(help).toMatchObject({ status: 0, stderr: '' });
    expect(help.stdout).toMatch(/^usage: x-reaper \[options\] \[--\] command/);
  });

  it("options end at the command: the command's own flags, --version among them, are handed to it", () => {
    const result = run('-s', 'sh', '-c', 'echo "$@"', 'sh', '--version', '-x', '--');
    expect(result).toMatchObject({ status: 0, stdout: '--version -x --\n', stderr: '' });
  });

  it('takes long names for its options too', () => {
    expect(run('--subreaper', '--remap-exit', '4', '--', 'sh', '-c', 'exit 4')).toMatchObject({ status: 0, stderr: '' });
  });

  it('warns when it is neither PID 1 nor a subreaper', () => {
    const result = run('true');
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('not running as PID 1 and not a child subreaper');
    expect(run('-s', 'true').stderr).toBe('');
  });
});

describe('x-reaper signals', () => {
  it('forwards signals to the child and reports how it exited', async () => {
    const { fixture, first } = await reaper(['-s'], "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done");
    expect(first).toBe('ready');
    fixture.child.kill('SIGTERM');
    expect(await fixture.nextLine()).toBe('got TERM');
    expect(await fixture.exit()).toEqual({ code: 3, signal: null });
  });

  it('with -g, reaches the grandchildren too; without, they survive their parent', async () => {
    const script = 'sleep 60 & echo $!; wait';
    const grouped = await reaper(['-s', '-g'], script);
    grouped.fixture.child.kill('SIGTERM');
    expect(await grouped.fixture.exit()).toEqual({ code: 143, signal: null });
    await waitFor(() => !isAlive(Number(grouped.first)), { message: 'the grandchild to get the signal' });

    const plain = await reaper(['-s'], script);
    plain.fixture.child.kill('SIGTERM');
    expect(await plain.fixture.exit()).toEqual({ code: 143, signal: null });
    expect(isAlive(Number(plain.first))).toBe(true);
    process.kill(Number(plain.first), 'SIGKILL');
  });

  it('keeps running through a burst of signals, and while its child ignores SIGTERM', async () => {
    // The child answers a forwarded SIGWINCH with a line: proof that x-reaper still runs and forwards after the rest.
    const { fixture, first } = await reaper(['-s'], "trap '' TERM; trap 'n=$((n+1))' USR1; trap 'echo usr1 $n' WINCH; n=0; echo ready; while :; do sleep 0.02; done");
    expect(first).toBe('ready');
    for (let index = 0; index < 100; index++) fixture.child.kill('SIGUSR1');
    fixture.child.kill('SIGTERM');
    // Sent after SIGTERM, and pending signals are delivered lowest number first (TERM 15, WINCH 28): x-reaper has handled TERM by now.
    fixture.child.kill('SIGWINCH');
    expect(await fixture.nextLine()).toMatch(/^usr1 \d+$/);
    expect(isAlive(fixture.pid)).toBe(true);
    const children = spawnSync('pgrep', ['-P', String(fixture.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number);
    for (const pid of children) process.kill(pid, 'SIGKILL');
    expect(await fixture.exit()).toEqual({ code: 137, signal: null });
  });

  it('with -a, waits for the descendants that outlive the child', async () => {
    // The child leaves a descendant behind and exits 0. The descendant ends only on SIGUSR1, which
    // reaches it only through x-reaper, and only if x-reaper still runs once its child is gone.
    const descendant = "trap 'echo descendant ends; exit 0' USR1; echo ready; while :; do sleep 0.02; done";
    const fixture = startFixture(process.execPath, [cli, '-s', '-a', '--', 'sh', '-c', 'sh -c "$0" & echo "$$ $!"', descendant]);
    const lines = [await fixture.nextLine(), await fixture.nextLine()].sort();
    expect(lines[1]).toBe('ready');
    const [child, left] = (lines[0] as string).split(' ').map(Number) as [number, number];
    await waitFor(() => !pidExists(child), { message: `x-reaper to collect its child ${child}` });
    // The child is gone, its descendant is not: x-reaper must still be there, waiting.
    expect(isAlive(left)).toBe(true);
    expect(isAlive(fixture.pid)).toBe(true);
    fixture.child.kill('SIGUSR1');
    expect(await fixture.nextLine()).toBe('descendant ends');
    expect(await fixture.exit()).toEqual({ code: 0, signal: null });
    expect(pidExists(left)).toBe(false);
  });
});

describe('runForked', () => {
  it('re-runs the program as the child of a supervisor that forwards signals and exits with its code', async () => {
    const supervisor = startFixture(new URL('./fixtures/forked-until-sigterm.mjs', import.meta.url));
    const [, childPid, childParent] = (await supervisor.nextLine()).split(' ');
    expect(Number(childParent)).toBe(supervisor.pid);
    expect(Number(childPid)).not.toBe(supervisor.pid);
    supervisor.child.kill('SIGTERM');
    expect(await supervisor.exit()).toEqual({ code: 42, signal: null });
  });

  it('propagates a plain exit code', async () => {
    const supervisor = startFixture(new URL('./fixtures/forked-exits.mjs', import.meta.url), ['7']);
    expect(await supervisor.nextLine()).toMatch(/^child \d+ \d+$/);
    expect(await supervisor.exit()).toEqual({ code: 7, signal: null });
  });
});

describe('x-reaper and runForked without a children list to read', () => {
  const unshare = (args: string[]) => spawnSync('unshare', args, { encoding: 'utf8', timeout: 20_000 });
  const oneLine = (stderr: string) => {
    expect(stderr.trim().split('\n')).toHaveLength(1);
    return stderr.trim();
  };

  it.runIf(pidNamespaces.ok)('x-reaper exits 125 naming the /proc of another PID namespace, and runs nothing', () => {
    const result = unshare(withForeignProc(process.execPath, cli, 'sh', '-c', 'echo ran'));
    expect(result.status).toBe(125);
    expect(result.stdout).toBe('');
    expect(oneLine(result.stderr)).toMatch(/^\[x-reaper\] cannot reap: cannot read the children list: \/proc belongs to another PID namespace/);
  });

  it.runIf(mountNamespaces.ok)('x-reaper exits 125 naming /proc/self when no /proc is mounted', () => {
    const result = unshare(withoutProc(process.execPath, cli, '-s', 'sh', '-c', 'echo ran'));
    expect(result.status).toBe(125);
    expect(result.stdout).toBe('');
    expect(oneLine(result.stderr)).toMatch(/^\[x-reaper\] cannot reap: cannot read the children list: \/proc\/self is unreadable \(ENOENT\)/);
  });

  it.runIf(mountNamespaces.ok)('with -a, x-reaper exits 125 naming the list when /proc goes away while it waits for descendants', () => {
    // The child leaves a sleeper behind, covers /proc in the mount namespace it shares with x-reaper, and exits 0.
    const script = 'sleep 30 >/dev/null 2>&1 & echo $!; mount -t tmpfs x-no-proc /proc; exit 0';
    const result = unshare(['-m', '--propagation', 'private', process.execPath, cli, '-s', '-a', 'sh', '-c', script]);
    const sleeper = Number(result.stdout.trim());
    if (sleeper > 0 && isAlive(sleeper)) process.kill(sleeper, 'SIGKILL');
    expect(result.status).toBe(125);
    expect(result.stderr).toMatch(/^\[x-reaper\] cannot read the children list: \/proc\/self is unreadable \(ENOENT\)/m);
  });

  it.runIf(pidNamespaces.ok)("runForked's supervisor exits 125 with a one-line message when it cannot reap", () => {
    const result = unshare(withForeignProc(process.execPath, new URL('./fixtures/forked-exits.mjs', import.meta.url).pathname, '7'));
    expect(result.status).toBe(125);
    expect(result.stdout).not.toContain('child');
    expect(oneLine(result.stderr)).toMatch(/^runForked: cannot supervise: cannot read the children list: \/proc belongs to another PID namespace/);
  });
});

describe('x-reaper -p', () => {
  it.each([String(constants.signals.SIGUSR1), 'USR1', 'sigusr1'])('-p %s: the death of its parent sends it that signal, which it forwards', async (signal) => {
    const file = join(scratch, `pdeathsig-${signal}`);
    // sh starts x-reaper in the background and is then SIGKILLed: its death is what -p arms.
    const child = `trap 'echo got USR1 > ${file}; exit 0' USR1; echo ready; while :; do sleep 0.05; done`;
    const parent = startFixture('sh', ['-c', '"$0" "$@" & echo "reaper $!"; wait', process.execPath, cli, '-s', '-p', signal, '--', 'sh', '-c', child]);
    const lines = [await parent.nextLine(), await parent.nextLine()].sort();
    expect(lines[0]).toBe('ready');
    const reaperPid = Number(/^reaper (\d+)$/.exec(lines[1] as string)?.[1]);
    parent.child.kill('SIGKILL');
    await waitFor(() => !isAlive(reaperPid), { timeout: 20_000, message: 'x-reaper to end after its parent died' });
    expect(readFileSync(file, 'utf8')).toBe('got USR1\n');
  });

  // The simulation checks x-reaper's own branch for a platform without PR_SET_PDEATHSIG, not macOS.
  it.runIf(mountNamespaces.ok)('off Linux (simulated macOS), -p exits 125 with one line that names it, and runs nothing', async () => {
    const simulated = startSimulated({ platform: 'darwin' }, cli, ['-p', 'TERM', '--', 'sh', '-c', 'echo ran']);
    expect(await simulated.exit(20_000)).toEqual({ code: 125, signal: null });
    expect(simulated.stdout).toBe('');
    expect(simulated.stderr).toBe('x-reaper: -p needs Linux (PR_SET_PDEATHSIG); this is darwin: run without -p\n');
  });
});
