// The CLIs of the packages, reachable from this one: npm links only the bins of direct dependencies.
/** Runs the CLI that `packageName` ships at dist/cli.js. */
export async function runCli(packageName: string): Promise<void> {
  const manifest = import.meta.resolve(`${packageName}/package.json`);
  await import(new URL('dist/cli.js', manifest).href);
}
