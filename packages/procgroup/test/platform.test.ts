import { mountNamespaces, startSimulated } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

// @x/procgroup in a process that reports another platform, whose C library lacks the Linux-only
// symbols and whose /proc is hidden (@x/test-utils' startSimulated). It checks this package's own
// platform branches, not macOS or Windows themselves; the test asks the real kernel about the group.

const tour = new URL('./fixtures/platform-tour.mjs', import.meta.url);

const groupGone = (pgid: number) => {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch {
    return true;
  }
};

describe.runIf(mountNamespaces.ok)('@x/procgroup off Linux (simulated)', () => {
  it('on "macOS" a group is started and terminated whole without /proc; cgroups and killTree refuse in type', async () => {
    const child = startSimulated({ platform: 'darwin' }, tour);
    const steps = JSON.parse(await child.nextLine(30_000)) as Record<string, unknown>;
    expect(await child.exit(10_000)).toEqual({ code: 0, signal: null });
    expect(steps).toMatchObject({ group: { forced: false }, cgroup: 'ERR_PROCGROUP_NO_CGROUP', auto: 'SIGKILL', killTree: 'ERR_X_UNSUPPORTED_PLATFORM' });
    expect(groupGone(steps.pgid as number)).toBe(true);
  });

  it('on "Windows" spawnGroup refuses in type before starting anything (no process groups there)', async () => {
    const child = startSimulated({ platform: 'win32' }, tour);
    const steps = JSON.parse(await child.nextLine(30_000)) as Record<string, unknown>;
    expect(await child.exit(10_000)).toEqual({ code: 0, signal: null });
    expect(steps).toEqual({ group: 'ERR_X_UNSUPPORTED_PLATFORM', cgroup: 'ERR_X_UNSUPPORTED_PLATFORM', auto: 'ERR_X_UNSUPPORTED_PLATFORM', killTree: 'ERR_X_UNSUPPORTED_PLATFORM' });
  });
});
