#!/usr/bin/env node
import { capabilities, type Capabilities } from './capabilities.js';

const labels: Record<keyof Capabilities, string> = {
  pdeathsig: 'parent-death signal',
  subreaper: 'child subreaper',
  pidfd: 'pidfd',
  cgroupKill: 'cgroup v2 + cgroup.kill',
  pidNamespaces: 'PID namespaces',
  childrenLists: '/proc children lists',
};

const usage = 'usage: x-sys doctor [--json]\n  prints which process features this machine supports';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (command !== 'doctor' || rest.some((arg) => arg !== '--json')) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const found = await capabilities();
  if (rest.includes('--json')) {
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

process.exitCode = await main(process.argv.slice(2));
