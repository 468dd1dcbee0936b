import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { capabilities, cgroupKillSupport, childrenOf, descendantsOf, ownCgroup, processState, readProcStat, startDateOf, startTimeOf, type Capability } from '@x/sys';
import { descendantsOf as scannedDescendants, groupOf, isRoot, parentOf, requirement, scratchDir, startFixture, stateOf, waitFor } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

const scratch = scratchDir('x-proc');

describe('/proc readers', () => {
  it('read a live process as the kernel describes it, even with spaces and parentheses in its name', async () => {
    // The kernel takes comm from the executable's file name (first 15 bytes).
    const odd = join(scratch, 'a b) (c');
    copyFileSync('/bin/sleep', odd);
    const before = Date.now();
    const child = spawn(odd, ['30'], { stdio: 'ignore' });
    const pid = child.pid as number;
    try {
      const stat = await waitFor(() => readProcStat(pid), { message: 'stat of the odd child' });
      expect(stat).toMatchObject({ pid, comm: 'a b) (c', ppid: process.pid, pgid: groupOf(pid) });
      expect(['S', 'R']).toContain(stat.state);
      // Start time from ticks since boot: ~10 ms precision, plus the time spawn() itself took.
      expect(startTimeOf(stat)).toBeGreaterThan(before - 50);
      expect(startTimeOf(stat)).toBeLessThan(Date.now() + 50);
      expect(startDateOf(stat)).toBeInstanceOf(Date);
      expect(startDateOf(stat).getTime()).toBeGreaterThan(before - 50);
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    expect(readProcStat(pid)).toBeUndefined();
  });

  it('list children and descendants the same way a full /proc scan does', async () => {
    const tree = startFixture('sh', ['-c', 'sleep 30 & sleep 30 & (sleep 30 & wait) & echo started; wait'], { detached: true });
    expect(await tree.nextLine()).toBe('started');
    await waitFor(() => scannedDescendants(tree.pid).length === 4, { message: 'four descendants of the shell' });
    expect(childrenOf(tree.pid).sort()).toEqual(
      scannedDescendants(tree.pid).filter((pid) => parentOf(pid) === tree.pid).sort(),
    );
    expect(descendantsOf(tree.pid).sort()).toEqual(scannedDescendants(tree.pid).sort());
    process.kill(-tree.pid, 'SIGKILL');
    await tree.exit();
  });

  it('return nothing for processes that do not exist', () => {
    expect(readProcStat(4_194_303)).toBeUndefined();
    expect(childrenOf(4_194_303)).toEqual([]);
  });
});

describe('capabilities', () => {
  it('probes every feature and leaves no probe cgroup behind', async () => {
    const found = await capabilities();
    for (const capability of Object.values(found) as Capability[]) {
      expect(typeof capability.supported).toBe('boolean');
      expect(capability.detail.length).toBeGreaterThan(0);
    }
    const cgroup = ownCgroup();
    if (cgroup) expect(readdirSync(cgroup.directory).filter((name) => name.startsWith('x-probe-'))).toEqual([]);
  });

  it.runIf(isRoot.ok)('finds everything on a root Linux machine with cgroup v2 (as CI is)', async () => {
    const found = await capabilities();
    expect(found.pdeathsig.supported).toBe(true);
    expect(found.subreaper.supported).toBe(true);
    expect(found.pidfd.supported).toBe(true);
    expect(found.childrenLists.supported).toBe(existsSync(`/proc/self/task/${process.pid}/children`));
    expect(found.pidNamespaces.supported).toBe(true);
    expect(found.cgroupKill.supported).toBe(ownCgroup() !== undefined);
  });

  it.runIf(isRoot.ok)('offers as the place for new leaves a cgroup that lists this process and makes leaves with cgroup.kill', () => {
    const support = cgroupKillSupport();
    if ('reason' in support) throw new Error(`expected cgroup.kill support as root with cgroup v2: ${support.reason}`);
    expect(readFileSync(join(support.directory, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(process.pid));
    const leaf = join(support.directory, `x-test-leaf-${process.pid}`);
    mkdirSync(leaf);
    try {
      expect(existsSync(join(leaf, 'cgroup.kill'))).toBe(true);
    } finally {
      rmdirSync(leaf);
    }
    // Probed once: a second call answers without making another probe leaf.
    expect(cgroupKillSupport()).toBe(support);
  });
});

describe('processState', () => {
  it('tells running, stopped, zombie and gone apart, as /proc/PID/stat says', async () => {
    // The child waits for a line on fd 3, which the test sends once the shell has exec'd into
    // `sleep 60`: that never reaps it.
    const parent = startFixture('sh', ['-c', 'read _ <&3 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    try {
      const child = Number(await parent.nextLine());
      expect(processState(parent.pid)).toBe('running');
      await waitFor(() => readFileSync(`/proc/${parent.pid}/comm`, 'latin1') === 'sleep\n', { message: `the shell ${parent.pid} to exec sleep` });
      (parent.child.stdio[3] as Writable).write('go\n');
      await waitFor(() => stateOf(child) === 'Z', { message: `pid ${child} to become a zombie` });
      expect(processState(child)).toBe('zombie');
      parent.child.kill('SIGSTOP');
      await waitFor(() => stateOf(parent.pid) === 'T', { message: 'the shell to stop' });
      expect(processState(parent.pid)).toBe('stopped');
    } finally {
      parent.child.kill('SIGKILL');
    }
    await parent.exit();
    expect(processState(parent.pid)).toBe('gone');
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses pid %d, which kill() would take for a group', (pid) => {
    expect(() => processState(pid)).toThrow(RangeError);
  });
});

const cgroupNamespace = requirement('a private cgroup namespace (unshare -C) with cgroup v2', () => {
  if (!isRoot.ok) return 'needs root';
  if (ownCgroup() === undefined) return 'no cgroup v2 hierarchy';
  return spawnSync('unshare', ['-C', 'true']).status === 0 ? undefined : 'unshare -C failed';
});

describe.runIf(cgroupNamespace.ok)('ownCgroup in a private cgroup namespace', () => {
  it('finds the directory that lists the process, never the host root', async () => {
    // A cgroup of its own below ours, entered before the namespace is made: inside, it reads as "/",
    // which once sent the lookup to the hierarchy's root.
    const own = ownCgroup() as { directory: string; mountPoint: string };
    const leaf = join(own.directory, `x-sys-test-${process.pid}`);
    mkdirSync(leaf);
    try {
      const child = startFixture('sh', ['-c', `echo $$ > ${leaf}/cgroup.procs && exec unshare -C "${process.execPath}" ${new URL('./fixtures/own-cgroup.mjs', import.meta.url).pathname}`]);
      const { pid, location } = JSON.parse(await child.nextLine()) as { pid: number; location: { directory: string } | null };
      await child.exit();
      expect(typeof pid).toBe('number');
      expect(location?.directory).toBe(leaf);
    } finally {
      rmdirSync(leaf);
    }
  });
});
