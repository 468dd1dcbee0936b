import { isAlive, mountNamespaces, startSimulated, waitFor } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

// @x/parentdeath in processes that report another platform, whose C library lacks the Linux-only
// symbols and whose /proc is hidden (@x/test-utils' startSimulated; the child inherits it through
// NODE_OPTIONS). The package has no platform branches and uses loopback TCP only: this checks that
// nothing in it depends on Linux, not macOS or Windows themselves.

describe.runIf(mountNamespaces.ok).each(['darwin', 'win32'] as const)('@x/parentdeath on "%s" (simulated)', (platform) => {
  it('a child notices its parent\'s SIGKILL', async () => {
    const parent = startSimulated({ platform }, new URL('./fixtures/platform-parent.mjs', import.meta.url));
    const lines = [await parent.nextLine(20_000), await parent.nextLine(20_000)].sort();
    const [parentWord, parentPid, parentPlatform] = (lines.find((line) => line.startsWith('parent ')) ?? '').split(' ');
    const [childWord, childPid, childPlatform] = (lines.find((line) => !line.startsWith('parent ')) ?? '').split(' ');
    expect([parentWord, Number(parentPid), parentPlatform]).toEqual(['parent', parent.pid, platform]);
    expect([childWord, childPlatform]).toEqual(['watching', platform]);
    parent.child.kill('SIGKILL');
    expect(await parent.nextLine(10_000)).toBe('dead disconnected');
    await waitFor(() => !isAlive(Number(childPid)), { message: `child ${childPid} to exit` });
  });
});
