import { closeSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { flockFree, scratchDir, startFixture } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

const dir = scratchDir('x-probes');

describe('flockFree', () => {
  it('probes the lock of a file that was unlinked through a descriptor, and leaves that descriptor unlocked', async () => {
    const path = join(dir, 'held');
    writeFileSync(path, '');
    // --no-fork: flock execs the shell, so the process we kill is the one holding the lock.
    const holder = startFixture('flock', ['-n', '--no-fork', path, 'sh', '-c', 'echo locked; exec sleep 60']);
    expect(await holder.nextLine()).toBe('locked');
    const fd = openSync(path, 'r');
    try {
      unlinkSync(path);
      expect(flockFree(fd)).toBe(false);
      holder.child.kill('SIGKILL');
      await holder.exit();
      expect(flockFree(fd)).toBe(true);
      // The kernel lists the locks held through a descriptor as "lock:" lines of its fdinfo.
      expect(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1')).not.toContain('lock:');
    } finally {
      closeSync(fd);
    }
  });
});
