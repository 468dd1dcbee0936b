import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * A fresh directory for the calling test file, removed after it. Traversable by other users (0755),
 * since some tests run a fixture as nobody inside it.
 */
export function scratchDir(prefix: string): string {
  const directory = mkdtempSync(join(tmpdir(), `${prefix}-`));
  chmodSync(directory, 0o755);
  afterAll(() => {
    rmSync(directory, { recursive: true, force: true });
  });
  return directory;
}
