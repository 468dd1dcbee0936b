import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scratchDir } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { packTarballs, published } from './tarballs.js';

const work = scratchDir('x-packed');

const node = (cwd: string, code: string) => spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd, encoding: 'utf8' });

describe('the packages as published', () => {
  it('install from their packed tarballs into a fresh project and work as a user imports them', () => {
    const files = packTarballs(join(work, 'tarballs'));
    expect(files).toHaveLength(published.length);
    const app = join(work, 'app');
    spawnSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // --ignore-scripts, as the READMEs allow: koffi's prebuilt binaries need no install script.
    const install = spawnSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...files], { cwd: app, encoding: 'utf8' });
    expect(install.status, install.stderr).toBe(0);

    // Every package by name, the meta package's namespaces and functions, nothing from inside.
    const imported = node(
      app,
      `const m = await import('@x/lifecycle');
       for (const name of ['@x/sys', '@x/parentdeath', '@x/pidfile', '@x/procgroup', '@x/reaper', '@x/daemon']) await import(name);
       const deep = await import('@x/sys/dist/index.js').then(() => 'allowed', (error) => error.code);
       console.log(JSON.stringify({ keys: Object.keys(m).sort(), deep, pid: m.sys.readProcStat(process.pid).pid === process.pid }));`,
    );
    expect(imported.status, imported.stderr).toBe(0);
    const report = JSON.parse(imported.stdout) as { keys: string[]; deep: string; pid: boolean };
    expect(report.keys).toEqual(expect.arrayContaining(['sys', 'parentdeath', 'pidfile', 'procgroup', 'reaper', 'daemon', 'beParent', 'acquire', 'spawnGroup', 'reap', 'daemonize']));
    expect(report.deep).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    expect(report.pid).toBe(true);

    // ESM packages that CommonJS can require() too (Node >= 20.19): no top-level await anywhere.
    for (const name of published) {
      const required = spawnSync(process.execPath, ['--input-type=commonjs', '-e', `console.log(Object.keys(require('@x/${name}')).length > 0)`], { cwd: app, encoding: 'utf8' });
      expect([name, required.status, required.stdout.trim()], required.stderr).toEqual([name, 0, 'true']);
    }

    // The CLIs are linked, from the meta package too.
    const bin = (name: string, ...args: string[]) => spawnSync(join(app, 'node_modules', '.bin', name), args, { encoding: 'utf8' });
    expect(bin('x-reaper', '--help').status).toBe(0);
    expect(bin('x-daemon', '--help').status).toBe(0);
    expect(bin('x-pidfile', 'status', join(app, 'none.pid')).status).toBe(3);
    const doctor = bin('x-sys', 'doctor', '--json');
    expect(doctor.status).toBe(0);
    expect(JSON.parse(doctor.stdout)).toHaveProperty('pidfd');
  }, 240_000);
});
