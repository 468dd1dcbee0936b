import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';

// CI points X_TEST_SCRATCH_ROOT at a tmpfs, btrfs or overlayfs mount to run the same tests on that file system.
function scratchRoot(): string {
  const root = process.env.X_TEST_SCRATCH_ROOT;
  if (root === undefined || root === '') return tmpdir();
  mkdirSync(root, { recursive: true });
  return resolve(root);
}

/**
 * A fresh directory for the calling test file, removed after it. Traversable by other users (0755),
 * since some tests run a fixture as nobody inside it. Made below `X_TEST_SCRATCH_ROOT` when that is set.
 */
export function scratchDir(prefix: string): string {
  const directory = mkdtempSync(join(scratchRoot(), `${prefix}-`));
  chmodSync(directory, 0o755);
  afterAll(() => {
    rmSync(directory, { recursive: true, force: true });
  });
  return directory;
}
