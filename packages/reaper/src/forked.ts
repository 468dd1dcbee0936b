import { spawn } from 'node:child_process';
import { reap } from './reap.js';
import { supervise, type SuperviseOptions } from './supervise.js';

const MARKER = 'X_REAPER_SUPERVISOR';

export type RunForkedOptions = Omit<SuperviseOptions, 'onForward'>;

/**
 * Turns this program into its own init: the current process becomes a supervisor — it reaps every
 * zombie (as PID 1, or else as a child subreaper), forwards signals to the child, and exits with the
 * child's exit code (or 128 + signal) — and runs this same program again as its child (same execArgv
 * and arguments). The promise resolves only in the child; the supervisor never returns from it.
 *
 * The child recognises itself by a variable naming its parent's pid, so a stray copy inherited from
 * elsewhere is not mistaken for it. Linux only.
 */
export async function runForked(options: RunForkedOptions = {}): Promise<void> {
  const marker = process.env[MARKER];
  if (marker !== undefined && Number(marker) === process.ppid) {
    Reflect.deleteProperty(process.env, MARKER);
    return;
  }
  const reaper = reap({ subreaper: process.pid !== 1 });
  const start = () =>
    spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, [MARKER]: String(process.pid) },
      detached: options.group === true,
    });
  const code = await supervise(start, reaper, options).catch(() => 126);
  reaper.stop();
  process.exit(code);
}
