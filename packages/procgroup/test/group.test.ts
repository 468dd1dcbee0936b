import { isAlive, membersOfGroup, requirement, sessionOf, startFixture, waitFor } from '@x/test-utils';
import { cgroupUnavailable, spawnGroup, type ProcessGroup } from '@x/procgroup';
import { afterAll, describe, expect, it } from 'vitest';
import { allGone, fixture, ourLeaves, threeLevels } from './helpers.js';

const cgroups = requirement('a writable cgroup v2 hierarchy with cgroup.kill', () => cgroupUnavailable());
const liveMembers = (pgid: number) => membersOfGroup(pgid).filter(isAlive);

/** Starts a group that prints one line once set up, and waits for it. */
async function started(group: ProcessGroup, members: number): Promise<number[]> {
  await new Promise((resolve) => group.child.stdout?.once('data', resolve));
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

  it('signals every member', async () => {
    const group = spawnGroup('sh', ['-c', 'echo up; sleep 60 & sleep 60 & wait'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const members = await started(group, 3);
    expect(group.signal('SIGKILL')).toBe(true);
    await allGone(members);
    await group.terminate();
  });
});

describe('containment', () => {
  // The escapee prints its pid, then the leader says "up".
  const escaping = `setsid -f sh -c 'echo $$; exec sleep 60'; sleep 0.1; echo up; sleep 60`;
  const escapeeOf = async (group: ProcessGroup) => {
    const output = await new Promise<string>((resolve) => {
      let text = '';
      group.child.stdout?.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('up\n')) resolve(text);
      });
    });
    const pid = Number(output.split('\n')[0]);
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
    const owner = startFixture(fixture('owner.mjs'), ['2', 'group', '--kill-watchdog']);
    const { groups } = JSON.parse(await owner.nextLine()) as { groups: { pgid: number; members: number[] }[] };
    owner.child.kill('SIGKILL');
    await owner.exit();
    await allGone(groups.flatMap((group) => group.members), 2000);
  });

  it('when the owner exits normally', async () => {
    const owner = startFixture(fixture('owner.mjs'), ['2', 'group', '--exit-after', '50']);
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
