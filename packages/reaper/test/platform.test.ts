import { readFileSync } from 'node:fs';
import { descendantsOf, groupOf, isAlive, mountNamespaces, startSimulated, waitFor, type Fixture } from '@x/test-utils';
import { afterEach, describe, expect, it } from 'vitest';

// @x/reaper in a process that reports another platform, whose C library lacks the Linux-only symbols
// (prctl, so no subreaper) and whose /proc is hidden (@x/test-utils' startSimulated). This checks the
// package's own platform branches, not macOS or Windows themselves. The test reads the real /proc.

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const PLATFORMS = ['darwin', 'win32'] as const;

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return '';
  }
};

/** Every process running the fixture seen below `root` (not helpers such as mount(8)), every 10 ms until stop(). */
function watchTree(root: number): { seen: Set<number>; stop: () => void } {
  const seen = new Set<number>();
  const look = () => {
    // Not the simulation's own wrapper (sh -c 'mount ... /proc && exec node ...') or its copy running mount.
    for (const pid of descendantsOf(root)) if (cmdline(pid).includes('platform-forked.mjs') && !cmdline(pid).includes('mount -t tmpfs')) seen.add(pid);
  };
  const timer = setInterval(look, 10);
  look();
  return {
    seen,
    stop: () => {
      clearInterval(timer);
    },
  };
}

const watches: { stop: () => void }[] = [];
afterEach(() => {
  for (const watch of watches.splice(0)) watch.stop();
});

function supervisor(platform: (typeof PLATFORMS)[number], options: object, ...args: string[]): { caller: Fixture; tree: Set<number> } {
  const caller = startSimulated({ platform }, fixture('platform-forked.mjs'), [JSON.stringify(options), ...args]);
  const watch = watchTree(caller.pid);
  watches.push(watch);
  return { caller, tree: watch.seen };
}

describe.runIf(mountNamespaces.ok).each(PLATFORMS)('@x/reaper on "%s" (simulated)', (platform) => {
  it('reap() is inactive and says why, with no error and no event', async () => {
    const child = startSimulated({ platform }, fixture('platform-reap.mjs'));
    const line = await child.nextLine(20_000);
    expect(await child.exit(10_000)).toEqual({ code: 0, signal: null });
    const inactive = {
      active: false,
      reason: `reaping adopted children needs Linux (this is ${platform}): only there does a process adopt orphans as a subreaper`,
      error: null,
      events: 0,
      swept: [],
    };
    expect(JSON.parse(line)).toEqual({ platform, plain: inactive, subreaper: inactive, forced: inactive });
  });

  it('runForked() passes the exit code on, with one child and nothing left', async () => {
    const { caller, tree } = supervisor(platform, {}, '7');
    const [word, pid, ppid, reported] = (await caller.nextLine(20_000)).split(' ');
    expect([word, Number(ppid), reported]).toEqual(['child', caller.pid, platform]);
    expect(await caller.exit(10_000)).toEqual({ code: 7, signal: null });
    expect(isAlive(Number(pid))).toBe(false);
    expect([...tree]).toEqual([Number(pid)]);
  });

  it('runForked() forwards SIGTERM to the child and exits with its code', async () => {
    const { caller, tree } = supervisor(platform, {});
    const pid = Number((await caller.nextLine(20_000)).split(' ')[1]);
    caller.child.kill('SIGTERM');
    expect(await caller.exit(10_000)).toEqual({ code: 42, signal: null });
    await waitFor(() => !isAlive(pid), { message: `child ${pid} to be gone` });
    expect([...tree]).toEqual([pid]);
  });

  it('runForked({ waitAll: true }) refuses with ERR_X_UNSUPPORTED_PLATFORM before starting the child', async () => {
    const { caller, tree } = supervisor(platform, { waitAll: true });
    expect(await caller.nextLine(20_000)).toBe(
      `ERR_X_UNSUPPORTED_PLATFORM waiting for every descendant needs Linux, where a subreaper adopts them and /proc lists them (this is ${platform}): drop { waitAll: true }, or have the child wait for its own children`,
    );
    expect(await caller.exit(10_000)).toEqual({ code: 0, signal: null });
    expect(tree.size).toBe(0);
  });
});

describe.runIf(mountNamespaces.ok)('runForked({ group: true }) off Linux (simulated)', () => {
  it('on "macOS" forwards to the child\'s process group', async () => {
    const { caller, tree } = supervisor('darwin', { group: true });
    const pid = Number((await caller.nextLine(20_000)).split(' ')[1]);
    expect(groupOf(pid)).toBe(pid);
    caller.child.kill('SIGTERM');
    expect(await caller.exit(10_000)).toEqual({ code: 42, signal: null });
    await waitFor(() => !isAlive(pid), { message: `child ${pid} to be gone` });
    expect([...tree]).toEqual([pid]);
  });

  it('on "Windows" refuses with ERR_X_UNSUPPORTED_PLATFORM before starting the child', async () => {
    const { caller, tree } = supervisor('win32', { group: true });
    expect(await caller.nextLine(20_000)).toBe(
      'ERR_X_UNSUPPORTED_PLATFORM forwarding signals to a process group needs POSIX process groups, which Windows lacks: drop { group: true }; signals then go to the child itself',
    );
    expect(await caller.exit(10_000)).toEqual({ code: 0, signal: null });
    expect(tree.size).toBe(0);
  });
});
