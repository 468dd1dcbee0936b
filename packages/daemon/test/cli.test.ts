import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { isAlive, scratchDir, waitFor } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { fixture, pidIn, proc, run } from './helpers.js';

const dir = scratchDir('x-daemon');
const cli = join(createRequire(import.meta.url).resolve('@x/daemon/package.json'), '..', 'dist', 'cli.js');
const xDaemon = (...args: string[]) => run([cli, ...args]);
const status = (pidFile: string) => spawnSync(process.execPath, [cli, 'status', '--pidfile', pidFile], { encoding: 'utf8' }).status;

describe('x-daemon', () => {
  it('start, status, restart and stop a real command', async () => {
    const pidFile = join(dir, 'sleeper.pid');
    const log = join(dir, 'sleeper.log');
    expect(status(pidFile)).toBe(3);
    const started = await xDaemon('start', '--pidfile', pidFile, '--stdout', log, '--settle', '200', '--', 'sh', '-c', 'echo started; exec sleep 60');
    expect(started).toMatchObject({ code: 0, stderr: '' });
    const supervisor = pidIn(pidFile);
    expect(isAlive(supervisor)).toBe(true);
    expect(proc(supervisor).sid).not.toBe(supervisor);
    expect(status(pidFile)).toBe(0);
    await waitFor(() => readFileSync(log, 'utf8').includes('started'), { message: 'the command to log' });

    const again = await xDaemon('start', '--pidfile', pidFile, '--', 'sleep', '60');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`already running (pid ${supervisor})`);

    const restarted = await xDaemon('restart', '--pidfile', pidFile, '--settle', '100', '--', 'sleep', '60');
    expect(restarted.code).toBe(0);
    expect(isAlive(supervisor)).toBe(false);
    const second = pidIn(pidFile);
    expect(second).not.toBe(supervisor);

    const stopped = await xDaemon('stop', '--pidfile', pidFile);
    expect(stopped.code).toBe(0);
    expect(isAlive(second)).toBe(false);
    expect(status(pidFile)).toBe(3);
    expect((await xDaemon('stop', '--pidfile', pidFile)).code).toBe(0);
  });

  it('fails the start of a command that exits while starting, or does not exist', async () => {
    const crashing = await xDaemon('start', '--pidfile', join(dir, 'crash.pid'), '--', 'sh', '-c', 'exit 3');
    expect(crashing.code).toBe(1);
    expect(crashing.stderr).toContain('exited with code 3 while starting');
    const missing = await xDaemon('start', '--', 'x-no-such-command');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot run x-no-such-command');
  });

  it('waits for READY=1 with --notify', async () => {
    const pidFile = join(dir, 'notify.pid');
    const started = await xDaemon('start', '--pidfile', pidFile, '--notify', '--', process.execPath, fixture('notify-child.mjs'), '300');
    expect(started.code).toBe(0);
    expect(started.ms).toBeGreaterThanOrEqual(300);
    expect((await xDaemon('stop', '--pidfile', pidFile)).code).toBe(0);
  });

  it('stop escalates to SIGKILL for a command that ignores SIGTERM, leaving nothing behind', async () => {
    const pidFile = join(dir, 'stubborn.pid');
    expect((await xDaemon('start', '--pidfile', pidFile, '--settle', '100', '--', 'sh', '-c', "trap '' TERM; while :; do sleep 0.05; done")).code).toBe(0);
    const supervisor = pidIn(pidFile);
    const group = proc(supervisor).pgid;
    const stopped = await xDaemon('stop', '--pidfile', pidFile, '--timeout', '1');
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain('sending SIGKILL');
    await waitFor(() => spawnSync('pgrep', ['-g', String(group)]).status === 1, { message: 'the whole daemon group to be gone' });
  });

  it.each([[['start']], [['stop']], [['frobnicate']], [['start', '--bogus', '--', 'true']], [['start', '--umask', '9', '--', 'true']]])(
    'prints usage and exits 2 for %j',
    async (args) => {
      const result = await xDaemon(...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('usage:');
    },
  );
});
