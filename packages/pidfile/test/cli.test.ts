import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { binPath, isAlive, scratchDir } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { holder } from './helpers.js';

const dir = scratchDir('x-pidfile');
// The bin as a user gets it: resolved through the package's own manifest.
const cli = binPath(import.meta.url, '@x/pidfile', 'x-pidfile');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

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

  it('signal confirms the owner, signals it and waits', async () => {
    const path = join(dir, 'signal.pid');
    const owner = await holder(path);
    const result = run('signal', path, 'TERM', '--wait', '5000');
    expect(result).toMatchObject({ status: 0, stdout: `sent SIGTERM to pid ${owner.pid}; it is gone\n` });
    expect(isAlive(owner.pid)).toBe(false);
    writeFileSync(path, `${process.pid}\n`);
    const refused = run('signal', path);
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain('refusing to signal');
    expect(isAlive(process.pid)).toBe(true);
  });

  it('wait returns once the owner is gone, or 1 at the timeout', async () => {
    const path = join(dir, 'wait.pid');
    const owner = await holder(path);
    expect(run('wait', path, '--timeout', '100').status).toBe(1);
    owner.child.kill('SIGKILL');
    await owner.exit();
    expect(run('wait', path, '--timeout', '5000').status).toBe(0);
  });

  it.each([
    [[]],
    [['status']],
    [['frobnicate', '/tmp/x.pid']],
    [['status', '/tmp/x.pid', '--bogus']],
    [['wait', '/tmp/x.pid', '--timeout', 'soon']],
  ])('prints usage and exits 2 for %j', (args) => {
    const result = run(...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage:');
  });
});
