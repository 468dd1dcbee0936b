import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { requirement, startFixture, waitFor, isAlive } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const python = requirement('python3 (the non-TypeScript peer)', () =>
  spawnSync('python3', ['--version']).status === 0 ? undefined : 'python3 is not installed',
);

describe.runIf(python.ok)('wire compatibility with a peer not written with this package', () => {
  it('a Node child watches a Python parent', async () => {
    const parent = startFixture('python3', [fixture('py-parent.py'), process.execPath, fixture('child.mjs')]);
    const lines = [await parent.nextLine(), await parent.nextLine()].sort();
    expect(lines[0]).toBe(`parent ${parent.pid}`);
    const childPid = Number(lines[1]?.split(' ')[1]);
    expect(lines[1]).toMatch(/^watching \d+$/);
    parent.child.kill('SIGKILL');
    expect(await parent.nextLine()).toBe('dead disconnected 1');
    await waitFor(() => !isAlive(childPid), { message: 'the Node child to exit' });
  });

  it('a Python child watches a Node parent', async () => {
    const parent = startFixture(fixture('parent.mjs'), ['python3', fixture('py-child.py')]);
    const lines = [await parent.nextLine(), await parent.nextLine()].sort();
    expect(lines[0]).toBe(`parent ${parent.pid}`);
    expect(lines[1]).toMatch(/^watching \d+$/);
    const childPid = Number(lines[1]?.split(' ')[1]);
    parent.child.kill('SIGKILL');
    expect(await parent.nextLine()).toBe('dead disconnected');
    await waitFor(() => !isAlive(childPid), { message: 'the Python child to exit' });
  });
});
