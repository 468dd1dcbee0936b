import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { binPath } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

// The bin as a user gets it: resolved through the package's own manifest.
const cli = binPath(import.meta.url, '@x/sys', 'x-sys');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
const { version } = JSON.parse(readFileSync(new URL(import.meta.resolve('@x/sys/package.json')), 'utf8')) as { version: string };

describe('x-sys', () => {
  it('--version prints the version of @x/sys and exits 0', () => {
    expect(run('--version')).toMatchObject({ status: 0, stdout: `${version}\n`, stderr: '' });
  });

  it.each([['--help'], ['-h'], ['doctor', '--help']])('%j prints the usage to stdout and exits 0', (...args) => {
    const result = run(...args);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(/^usage: x-sys doctor \[--json\]\n/);
  });

  it.each([
    [[], 'missing command'],
    [['--bogus'], "unknown option '--bogus'"],
    [['doctor', '--json=yes'], "option '--json' takes no value"],
    [['doctor', 'now'], "unexpected argument 'now'"],
    [['frobnicate'], "unknown command 'frobnicate'"],
  ])('%j exits 2 with one line saying why and the usage line', (args, message) => {
    const result = run(...args);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`x-sys: ${message}\nusage: x-sys doctor [--json] | --help | --version\n`);
  });

  it('doctor --json reports every capability as supported or not, with a detail', () => {
    const result = run('doctor', '--json');
    expect(result.status).toBe(0);
    const found = JSON.parse(result.stdout) as Record<string, { supported: unknown; detail: unknown }>;
    expect(Object.keys(found).sort()).toEqual(['cgroupKill', 'childrenLists', 'pidNamespaces', 'pidfd', 'pdeathsig', 'subreaper'].sort());
    for (const { supported, detail } of Object.values(found)) {
      expect(typeof supported).toBe('boolean');
      expect(typeof detail).toBe('string');
    }
  });
});
