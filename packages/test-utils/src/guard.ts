import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { started } from './fixtures.js';

const VARIABLE = 'X_TEST_GUARD';

/**
 * Marks this test process so that everything it starts, directly or not (orphans, setsid escapees,
 * daemons), carries the mark in its environment, and returns a check that finds marked processes
 * still alive, kills them and reports them. Processes started with an explicit `env` drop the mark.
 */
export function markProcesses(): () => Promise<string[]> {
  const token = randomBytes(8).toString('hex');
  process.env[VARIABLE] = token;
  const needle = Buffer.from(`\0${VARIABLE}=${token}\0`);
  return async () => {
    for (const child of started) child.kill('SIGKILL');
    // Give processes that are exiting right now a moment before calling them leftovers.
    for (let attempt = 0; attempt < 60 && marked(needle).length > 0; attempt++) await sleep(50);
    const left = marked(needle);
    for (const { pid } of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    return left.map(({ pid, command }) => `${pid} ${command}`);
  };
}

function marked(needle: Buffer): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const environ = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${name}/environ`)]);
      if (!environ.includes(needle)) continue;
      const state = readFileSync(`/proc/${name}/stat`, 'latin1');
      // A zombie is already dead; its parent (ours or init) will reap it.
      if (state.slice(state.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const command = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').join(' ').trim();
      found.push({ pid: Number(name), command });
    } catch {
      // Exited while we looked, or not readable: not ours to judge.
    }
  }
  return found;
}
