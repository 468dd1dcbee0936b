import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The file of command `binName` of `packageName`, found as a user's install finds it: through the
 * package's manifest (`bin`), resolved from `from` (the caller's import.meta.url).
 */
export function binPath(from: string | URL, packageName: string, binName: string): string {
  const manifest = createRequire(from).resolve(`${packageName}/package.json`);
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: Record<string, string> };
  const path = bin?.[binName];
  if (path === undefined) throw new Error(`${packageName} has no bin named ${binName}`);
  return join(dirname(manifest), path);
}
