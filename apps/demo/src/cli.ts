#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { status, stop } from './commands.js';
import { runSupervisor } from './supervisor.js';
import { runTour } from './tour.js';

const usage = `usage: demo [tour | start | status | stop | doctor]
  tour     (default) the narrated end-to-end tour
  start    start the supervisor as a daemon; exits 0 once it is ready
  status   0 running, 1 stale PID file, 3 not running
  stop     stop the supervisor gracefully
  doctor   what this machine supports`;

async function main(command = 'tour'): Promise<number> {
  switch (command) {
    case 'tour': {
      const result = await runTour();
      return result.failed === 0 ? 0 : 1;
    }
    case 'start':
      return runSupervisor();
    case 'status':
      return status();
    case 'stop':
      return stop();
    case 'doctor': {
      // The x-sys command as @x/lifecycle's manifest names it.
      const manifest = import.meta.resolve('@x/lifecycle/package.json');
      const { bin } = JSON.parse(readFileSync(new URL(manifest), 'utf8')) as { bin: Record<string, string> };
      const xSys = new URL(bin['x-sys'] ?? 'missing', manifest);
      return spawnSync(process.execPath, [fileURLToPath(xSys), 'doctor'], { stdio: 'inherit' }).status ?? 1;
    }
    default:
      process.stderr.write(`${usage}\n`);
      return 2;
  }
}

process.exitCode = await main(process.argv[2]);
