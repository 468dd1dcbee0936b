import { existsSync, mkdtempSync, rmSync, statSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { scratchDir } from '@x/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

// CI runs test files with X_TEST_SCRATCH_ROOT on a tmpfs, btrfs or overlayfs mount; /dev/shm is a tmpfs.
const shm = mkdtempSync('/dev/shm/x-test-utils-');
const root = join(shm, 'not', 'there', 'yet');
const previous = process.env.X_TEST_SCRATCH_ROOT;
process.env.X_TEST_SCRATCH_ROOT = root;
const below = scratchDir('x-scratch');
delete process.env.X_TEST_SCRATCH_ROOT;
const plain = scratchDir('x-scratch');
if (previous !== undefined) process.env.X_TEST_SCRATCH_ROOT = previous;
afterAll(() => {
  rmSync(shm, { recursive: true, force: true });
});

describe('scratchDir', () => {
  it('makes its directory below X_TEST_SCRATCH_ROOT, creating the root, on that root\'s file system', () => {
    expect(dirname(below)).toBe(root);
    expect(statSync(below).mode & 0o777).toBe(0o755);
    expect(statfsSync(below).type).toBe(statfsSync('/dev/shm').type);
  });

  it('makes it in the temp dir without the variable', () => {
    expect(dirname(plain)).toBe(tmpdir());
    expect(existsSync(plain)).toBe(true);
  });
});
