// The CLIs of the packages, reachable from this one: npm links only the bins of direct dependencies.
import { readFileSync } from 'node:fs';

/** Runs the CLI `binName` of `packageName`, found through that package's manifest (its `bin` field). */
export async function runCli(packageName: string, binName: string): Promise<void> {
  const manifest = import.meta.resolve(`${packageName}/package.json`);
  const { bin } = JSON.parse(readFileSync(new URL(manifest), 'utf8')) as { bin?: Record<string, string> };
  const path = bin?.[binName];
  if (path === undefined) throw new Error(`${packageName} has no ${binName} command; reinstall @x/lifecycle`);
  await import(new URL(path, manifest).href);
}
