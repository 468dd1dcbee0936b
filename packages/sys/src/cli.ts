#!/usr/bin/env node
import { capabilities, type Capabilities } from './capabilities.js';
import { parseCommandLine, runCli, UsageError, type Cli } from './cli-args.js';

const labels: Record<keyof Capabilities, string> = {
  pdeathsig: 'parent-death signal',
  subreaper: 'child subreaper',
  pidfd: 'pidfd',
  cgroupKill: 'cgroup v2 + cgroup.kill',
  pidNamespaces: 'PID namespaces',
  childrenLists: '/proc children lists',
};

const cli: Cli = {
  name: 'x-sys',
  synopsis: 'usage: x-sys doctor [--json] | --help | --version',
  help: `usage: x-sys doctor [--json]
  prints which process features this machine supports (--json: as JSON)

  -h, --help     this help
  --version      the version of @x/sys`,
  manifest: import.meta.resolve('@x/sys/package.json'),
};

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(cli, argv, { json: { type: 'boolean' } }, { allowPositionals: true });
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError('missing command');
  if (command !== 'doctor') throw new UsageError(`unknown command '${command}'`);
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0] as string}'`);
  const found = await capabilities();
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
    return 0;
  }
  const width = Math.max(...Object.values(labels).map((label) => label.length));
  const color = process.stdout.isTTY && !process.env.NO_COLOR;
  const mark = (ok: boolean) => (ok ? (color ? '\x1b[32m✔\x1b[0m' : '✔') : color ? '\x1b[31m✘\x1b[0m' : '✘');
  process.stdout.write(`@x doctor — ${process.platform} ${process.arch}, Node ${process.version}\n\n`);
  for (const key of Object.keys(labels) as (keyof Capabilities)[]) {
    const { supported, detail } = found[key];
    process.stdout.write(`  ${mark(supported)} ${labels[key].padEnd(width)}  ${detail}\n`);
  }
  return 0;
}

process.exitCode = await runCli(cli, main);
