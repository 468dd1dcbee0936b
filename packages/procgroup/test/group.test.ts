import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { ownCgroup } from '@x/sys';
import { deadline, descendantsOf, isAlive, isRoot, membersOfGroup, requirement, sessionOf, startFixture, waitFor } from '@x/test-utils';
import { cgroupUnavailable, spawnGroup, type ProcessGroup } from '@x/procgroup';
import { afterAll, describe, expect, it } from 'vitest';
import { allGone, fixture, ourLeaves, threeLevels } from './helpers.js';

const cgroups = requirement('a writable cgroup v2 hierarchy with cgroup.kill', () => cgroupUnavailable());
const mountNamespaces = requirement('private mount namespaces', () => {
  if (!isRoot.ok) return 'needs root';
  const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'true'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : `unshare -m failed: ${probe.stderr.trim()}`;
});
const cgroupNamespaces = requirement('cgroup namespaces with a writable cgroup v2', () => {
  const missing = cgroupUnavailable() ?? (mountNamespaces.ok ? undefined : mountNamespaces.reason);
  if (missing !== undefined) return missing;
  const probe = spawnSync('unshare', ['-C', 'true'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : `unshare -C failed: ${probe.stderr.trim()}`;
});
const liveMembers = (pgid: number) => membersOfGroup(pgid).filter(isAlive);
/** The cgroup v2 path of `pid` as the kernel names it for this process (the `0::` line of /proc/PID/cgroup). */
const cgroupOf = (pid: number) => /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'latin1'))?.[1];
const statusField = (pid: number, field: string) => new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];

/** Starts a group that prints one line once set up, and waits for it. */
async function started(group: ProcessGroup, members: number): Promise<number[]> {
  await deadline(new Promise((resolve) => group.child.stdout?.once('data', resolve)), 10_000, `group ${group.pgid ?? '-'} to print its first line`);
  const pgid = group.pgid as number;
  await waitFor(() => liveMembers(pgid).length >= members, { message: `${members} members in group ${pgid}` });
  return liveMembers(pgid);
}

afterAll(async () => {
  // Every test's cgroup leaves are gone too.
  await waitFor(() => ourLeaves().length === 0, { message: `cgroup leaves to be removed: ${ourLeaves().join(' ')}` });
});

describe('spawnGroup', () => {
  it('starts the command as leader of its own session and process group', async () => {
    const group = spawnGroup('sh', ['-c', 'echo up; sleep 60'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await started(group, 2);
    const pid = group.pid as number;
    expect(group.pgid).toBe(pid);
    expect(sessionOf(pid)).toBe(pid);
    expect(group.members().sort()).toEqual(liveMembers(pid).sort());
    await group.terminate();
  });

  it('terminates a three-level tree entirely, not just its leader', async () => {
    const group = spawnGroup('sh', ['-c', threeLevels(3)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const members = await started(group, 13);
    expect(members).toHaveLength(13);
    const result = await group.terminate({ timeout: 5000 });
    expect(result).toMatchObject({ code: null, signal: 'SIGTERM', forced: false });
    expect(members.filter(isAlive)).toEqual([]);
    expect(group.members()).toEqual([]);
  });

  it('force-kills a member that ignores SIGTERM at the deadline', async () => {
    const group = spawnGroup('sh', ['-c', `"${process.execPath}" "${fixture('ignores-term.mjs').pathname}" & wait`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const members = await started(group, 2);
    const result = await group.terminate({ timeout: 300 });
    expect(result.forced).toBe(true);
    expect(result.duration).toBeGreaterThanOrEqual(290);
    expect(members.filter(isAlive)).toEqual([]);
  });

  it('resolves at once for a group that already ended, sending nothing', async () => {
    const group = spawnGroup('true');
    expect(await group.exited).toEqual({ code: 0, signal: null });
    expect(await group.terminate()).toEqual({ code: 0, signal: null, forced: false, duration: 0 });
    expect(group.signal('SIGTERM')).toBe(false);
  });

  it('keeps concurrent groups apart', async () => {
    const groups = [0, 1, 2].map(() => spawnGroup('sh', ['-c', 'echo up; sleep 60 & wait'], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const members = await Promise.all(groups.map((group) => started(group, 2)));
    await groups[1]?.terminate();
    expect(members[1]?.filter(isAlive)).toEqual([]);
    expect(members[0]?.every(isAlive)).toBe(true);
    expect(members[2]?.every(isAlive)).toBe(true);
    await Promise.all(groups.map((group) => group.terminate()));
  });

  it('ends the whole tree when its AbortSignal aborts, not only the leader', async () => {
    const controller = new AbortController();
    const group = spawnGroup('sh', ['-c', threeLevels(3)], { signal: controller.signal, stdio: ['ignore', 'pipe', 'inherit'] });
    const errors: Error[] = [];
    group.child.on('error', (error) => errors.push(error));
    const members = await started(group, 13);
    controller.abort();
    await allGone(members, 5000, 'every member after the abort');
    expect(errors).toMatchObject([{ name: 'AbortError', code: 'ABORT_ERR' }]);
    expect(await group.terminate()).toMatchObject({ forced: false });
  });

  it('ends the whole tree at its spawn timeout, with killSignal', async () => {
    // The timer starts at the spawn and cannot wait for our readiness check: give the tree of 7 ample time to be complete first.
    const SPAWN_TIMEOUT_MS = 2000;
    const group = spawnGroup('sh', ['-c', threeLevels(2)], { timeout: SPAWN_TIMEOUT_MS, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'inherit'] });
    const members = await started(group, 7);
    await allGone(members, 5000, 'every member after the timeout');
    expect(await group.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('kill() during a graceful terminate() sends SIGKILL now instead of waiting out the grace period', async () => {
    const group = spawnGroup('sh', ['-c', `"${process.execPath}" "${fixture('ignores-term.mjs').pathname}" & wait`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const members = await started(group, 2);
    const graceful = group.terminate({ timeout: 60_000 });
    const killed = await deadline(group.kill(), 5000, 'kill() to end a group whose terminate() has a 60 s grace period');
    expect(members.filter(isAlive)).toEqual([]);
    expect(killed.forced).toBe(true);
    expect(await graceful).toEqual(killed);
  });

  it('ends a group without /proc where it is not Linux (kill(-pgid, 0) tells when it is gone)', async () => {
    const owner = startFixture(fixture('not-linux.mjs'));
    const { pgid } = JSON.parse(await owner.nextLine()) as { pgid: number };
    expect(JSON.parse(await owner.nextLine())).toMatchObject({ result: { code: 0, signal: null, forced: false } });
    expect(membersOfGroup(pgid).filter(isAlive)).toEqual([]);
    expect(await owner.exit()).toEqual({ code: 0, signal: null });
  });

  it('signals every member', async () => {
    const group = spawnGroup('sh', ['-c', 'echo up; sleep 60 & sleep 60 & wait'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const members = await started(group, 3);
    expect(group.signal('SIGKILL')).toBe(true);
    await allGone(members);
    await group.terminate();
  });
});

describe('containment', () => {
  // The escapee prints its pid (the group's only output) once it is in a session of its own.
  const escaping = `setsid -f sh -c 'echo $$; exec sleep 60'; sleep 60`;
  const escapeeOf = async (group: ProcessGroup) => {
    const line = new Promise<string>((resolve) => {
      let text = '';
      group.child.stdout?.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
      });
    });
    const pid = Number(await deadline(line, 10_000, 'the escapee to print its pid'));
    await waitFor(() => sessionOf(pid) === pid, { message: `pid ${pid} to be in a session of its own` });
    return pid;
  };

  it("lets a grandchild that calls setsid escape 'group' containment", async () => {
    const group = spawnGroup('sh', ['-c', escaping], { stdio: ['ignore', 'pipe', 'inherit'] });
    const escapee = await escapeeOf(group);
    expect(group.members()).not.toContain(escapee);
    await group.terminate();
    expect(isAlive(escapee)).toBe(true);
    process.kill(escapee, 'SIGKILL');
  });

  it.runIf(cgroups.ok)("catches it with 'cgroup' containment, and removes the cgroup", async () => {
    const group = spawnGroup('sh', ['-c', escaping], { containment: 'cgroup', stdio: ['ignore', 'pipe', 'inherit'] });
    expect(group.containment).toBe('cgroup');
    const escapee = await escapeeOf(group);
    expect(group.members()).toContain(escapee);
    const result = await group.terminate({ timeout: 2000 });
    expect(result.forced).toBe(false);
    expect(isAlive(escapee)).toBe(false);
    expect(ourLeaves()).toEqual([]);
  });

  for (const containment of ['cgroup', 'auto'] as const) {
    it.runIf(cgroups.ok && isRoot.ok)(`runs a command as another user inside its cgroup (containment '${containment}')`, async () => {
      const group = spawnGroup('sh', ['-c', 'echo up; exec sleep 60'], { containment, uid: 65534, gid: 65534, cwd: '/', stdio: ['ignore', 'pipe', 'inherit'] });
      await started(group, 1);
      const pid = group.pid as number;
      await waitFor(() => readFileSync(`/proc/${pid}/comm`, 'latin1') === 'sleep\n', { message: 'the command to exec sleep' });
      expect(statusField(pid, 'Uid')).toBe('65534\t65534\t65534\t65534');
      expect(statusField(pid, 'Gid')).toBe('65534\t65534\t65534\t65534');
      const own = ownCgroup()?.path as string;
      expect(cgroupOf(pid)).toMatch(new RegExp(`^${posix.join(own, `x-procgroup-${process.pid}-`)}\\d+$`));
      await group.terminate();
      expect(isAlive(pid)).toBe(false);
    });
  }

  it.runIf(cgroups.ok)('an unreadable cgroup does not count as empty (an owner out of descriptors)', async () => {
    const owner = startFixture('prlimit', ['--nofile=256:256', process.execPath, fixture('unreadable-cgroup.mjs').pathname]);
    const { escapee, first } = JSON.parse(await owner.nextLine()) as { escapee: number; first: unknown };
    expect(first).toBe('ERR_PROCGROUP_CGROUP_UNREADABLE');
    expect(JSON.parse(await owner.nextLine())).toEqual({ second: true });
    await allGone([escapee], 5000, 'the member that escaped with setsid, killed through the cgroup');
    owner.child.kill('SIGKILL');
    await owner.exit();
  });

  it.runIf(cgroups.ok)("picks cgroup for 'auto' where it works", () => {
    const group = spawnGroup('true', [], { containment: 'auto' });
    expect(group.containment).toBe('cgroup');
    return group.terminate();
  });
});

describe('groups die with their owner', () => {
  it.each([
    ['is SIGKILLed', 'SIGKILL'],
    ['is terminated by SIGTERM', 'SIGTERM'],
  ] as const)('when the owner %s (10 rounds)', async (_, signal) => {
    for (let round = 0; round < 10; round++) {
      const owner = startFixture(fixture('owner.mjs'), ['2']);
      const { groups } = JSON.parse(await owner.nextLine()) as { groups: { pgid: number; members: number[] }[] };
      const members = groups.flatMap((group) => group.members);
      expect(members).toHaveLength(8);
      owner.child.kill(signal);
      await owner.exit();
      await allGone(members, 2000, `the groups of an owner killed by ${signal}`);
    }
  });

  it('when the owner is SIGKILLed after its watchdog was killed (a new one took over)', async () => {
    const owner = startFixture(fixture('owner-replaces-watchdog.mjs'), ['2']);
    const { groups } = JSON.parse(await owner.nextLine()) as { groups: { pgid: number; members: number[] }[] };
    owner.child.kill('SIGKILL');
    await owner.exit();
    await allGone(groups.flatMap((group) => group.members), 2000);
  });

  it('when the owner exits normally', async () => {
    const owner = startFixture(fixture('owner-exits.mjs'), ['2']);
    const { groups } = JSON.parse(await owner.nextLine()) as { groups: { pgid: number; members: number[] }[] };
    expect(await owner.exit()).toEqual({ code: 0, signal: null });
    await allGone(groups.flatMap((group) => group.members), 2000);
  });

  it.runIf(cgroups.ok)('with cgroup containment, removing the cgroups too', async () => {
    const owner = startFixture(fixture('owner.mjs'), ['2', 'cgroup']);
    const { groups } = JSON.parse(await owner.nextLine()) as { groups: { pgid: number; members: number[] }[] };
    expect(ourLeaves(owner.pid)).toHaveLength(2);
    owner.child.kill('SIGKILL');
    await owner.exit();
    await allGone(groups.flatMap((group) => group.members), 2000);
    await waitFor(() => ourLeaves(owner.pid).length === 0, { message: "the dead owner's cgroups to be removed" });
  });
});

describe.runIf(cgroupNamespaces.ok)('in a private cgroup namespace (a container)', () => {
  /** A cgroup to play the container's, below ours; the owner is moved in before it unshares. */
  let containers = 0;
  function container(): { directory: string; path: string } {
    const own = ownCgroup();
    if (own === undefined) throw new Error('no cgroup v2');
    const name = `x-procgroup-test-container-${process.pid}-${++containers}`;
    mkdirSync(join(own.directory, name));
    return { directory: join(own.directory, name), path: posix.join(own.path, name) };
  }
  const leavesIn = (directory: string, owner: number) => readdirSync(directory).filter((name) => name.startsWith(`x-procgroup-${owner}-`));

  it.each([
    ['the host cgroup2 mount (root /..)', false],
    ['cgroup2 mounted again inside it', true],
  ])('puts leaves inside the container, never at the host root, and leaves none behind: %s', async (_, again) => {
    const box = container();
    const mountPoint = ownCgroup()?.mountPoint as string;
    const remount = again ? ['-m', '--propagation', 'private', 'sh', '-c', 'umount "$0" && mount -t cgroup2 cgroup2 "$0" && exec "$@"', mountPoint] : [];
    try {
      const owner = startFixture('sh', [
        '-c',
        'echo $$ > "$0/cgroup.procs" && exec "$@"',
        box.directory,
        'unshare',
        '-C',
        ...remount,
        process.execPath,
        fixture('owner.mjs').pathname,
        '1',
        'cgroup',
      ]);
      const { groups } = JSON.parse(await owner.nextLine()) as { groups: { pgid: number; members: number[] }[] };
      const [group] = groups;
      if (group === undefined) throw new Error('no group');
      expect(cgroupOf(owner.pid)).toBe(box.path);
      expect(cgroupOf(group.pgid)).toMatch(new RegExp(`^${box.path}/x-procgroup-${owner.pid}-\\d+$`));
      expect(leavesIn(ownCgroup()?.directory as string, owner.pid)).toEqual([]);
      owner.child.kill('SIGKILL');
      await owner.exit();
      await allGone(group.members, 2000);
      await waitFor(() => leavesIn(box.directory, owner.pid).length === 0, { message: 'the leaf in the container to be removed' });
      expect(leavesIn(ownCgroup()?.directory as string, owner.pid)).toEqual([]);
    } finally {
      await waitFor(
        () => {
          try {
            rmdirSync(box.directory);
            return true;
          } catch {
            return false;
          }
        },
        { message: `the test's container cgroup ${box.directory} to be empty` },
      );
    }
  });
});

describe('when the die-with-owner watchdog cannot run (no usable /bin/sh)', () => {
  const inPrivateMounts = (name: string) =>
    startFixture('unshare', ['-m', '--propagation', 'private', process.execPath, fixture(name).pathname], {
      env: { ...process.env, NODE_DEBUG: 'x:procgroup' },
    });

  it.runIf(mountNamespaces.ok)('refuses to start a group it cannot guard, says so, and starts nothing', async () => {
    const owner = inPrivateMounts('refuses-without-shell.mjs');
    const { first, second } = JSON.parse(await owner.nextLine()) as { first: unknown; second: number };
    expect(first).toBe('ERR_PROCGROUP_WATCHDOG');
    // Without die-with-owner it still works; nothing else was started.
    expect(typeof second).toBe('number');
    expect(descendantsOf(owner.pid).filter((pid) => pid !== second && isAlive(pid))).toEqual([]);
    expect(await owner.exit()).toEqual({ code: 0, signal: null });
    expect(owner.stderr).toContain('die-with-owner cannot start its watchdog');
  });

  it.runIf(mountNamespaces.ok)("tells each group 'unguarded' when a killed watchdog cannot be replaced", async () => {
    const owner = inPrivateMounts('loses-its-watchdog.mjs');
    const { pid, watchdog, unguarded } = JSON.parse(await owner.nextLine()) as { pid: number; watchdog: number; unguarded: unknown };
    expect(unguarded).toBe('ERR_PROCGROUP_WATCHDOG');
    expect(isAlive(watchdog)).toBe(false);
    expect(descendantsOf(owner.pid).filter((each) => each !== pid && isAlive(each))).toEqual([]);
    expect(await owner.exit()).toEqual({ code: 0, signal: null });
    expect(owner.stderr).toContain('watchdog lost');
  });
});
