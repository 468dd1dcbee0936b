import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquire, defaultPath } from '@x/pidfile';
import { isRoot, scratchDir, startFixture } from '@x/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture } from './helpers.js';

const dir = scratchDir('x-pidfile');
const mounts: string[] = [];
afterAll(() => {
  for (const mount of mounts) spawnSync('umount', [mount]);
});

/** A small tmpfs of our own, to make a file system full or read-only for real. */
function tmpfs(name: string, options: string): string {
  const mount = join(dir, name);
  mkdirSync(mount);
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mount], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mount failed: ${result.stderr}`);
  mounts.push(mount);
  return mount;
}

describe.runIf(isRoot.ok)('file system faults', () => {
  it('a read-only file system gives ERR_PIDFILE_ACCESS', async () => {
    const mount = tmpfs('readonly', 'ro,size=64k');
    await expect(acquire(join(mount, 'x.pid'))).rejects.toMatchObject({ code: 'ERR_PIDFILE_ACCESS', cause: { code: 'EROFS' } });
  });

  it('a full disk gives ERR_PIDFILE_WRITE, and leaves no file, not even a temporary one', async () => {
    const mount = tmpfs('full', 'size=8k');
    // Fill every block; the file system keeps inodes free, so only the write can fail.
    spawnSync('sh', ['-c', `cat /dev/zero > ${mount}/filler`]);
    const path = join(mount, 'x.pid');
    await expect(acquire(path)).rejects.toMatchObject({ code: 'ERR_PIDFILE_WRITE', cause: { code: 'ENOSPC' } });
    expect(readdirSync(mount)).toEqual(['filler']);
    expect(existsSync(path)).toBe(false);
  });
});

describe('defaultPath', () => {
  it.runIf(isRoot.ok)('is /run/<name>.pid for root', () => {
    expect(defaultPath('my-daemon')).toBe('/run/my-daemon.pid');
  });

  it.runIf(isRoot.ok)('falls back to $XDG_RUNTIME_DIR, then the temp dir, for a user who cannot write /run', async () => {
    const runtime = join(dir, 'runtime');
    mkdirSync(runtime);
    chmodSync(runtime, 0o777);
    const asNobody = (env: NodeJS.ProcessEnv) =>
      startFixture('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, fixture('try-acquire.mjs').pathname, '--default-path', 'svc'], { env });
    const { XDG_RUNTIME_DIR: _ignored, ...base } = process.env;
    expect(await asNobody({ ...base, XDG_RUNTIME_DIR: runtime }).nextLine()).toBe(join(runtime, 'svc.pid'));
    expect(await asNobody({ ...base, TMPDIR: '/tmp' }).nextLine()).toBe('/tmp/svc.pid');
  });

  it.each(['', '.', '..', 'a/b', 'x\u0000', 'with space'])('rejects the name %j', (name) => {
    expect(() => defaultPath(name)).toThrow(expect.objectContaining({ code: 'ERR_PIDFILE_BAD_NAME' }));
  });
});

describe('a file left by a dead owner in a directory we cannot create files in', () => {
  it.runIf(isRoot.ok)('is locked and rewritten in place', async () => {
    const locked = join(dir, 'fixed');
    mkdirSync(locked, { mode: 0o755 });
    const path = join(locked, 'x.pid');
    writeFileSync(path, '4194303\n');
    chmodSync(path, 0o666);
    const attempt = startFixture('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, fixture('try-acquire.mjs').pathname, path]);
    expect(await attempt.nextLine()).toMatch(/^ok "\d+\\n"$/);
  });
});
