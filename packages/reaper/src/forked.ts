import { spawn } from 'node:child_process';
import { isMainThread } from 'node:worker_threads';
import { ReaperError } from './errors.js';
import { reap } from './reap.js';
import { checkPlatform, isSpawnError, supervise, type SuperviseOptions } from './supervise.js';

const MARKER = 'X_REAPER_SUPERVISOR';

export type RunForkedOptions = Omit<SuperviseOptions, 'onForward'>;

/**
 * Turns this program into its own init: the current process becomes a supervisor — it reaps every
 * zombie (as PID 1, or else as a child subreaper), forwards signals to the child, and exits with the
 * child's exit code (or 128 + signal) — and runs this same program again as its child (same execArgv
 * and arguments). The promise resolves only in the child; the supervisor never returns from it.
 *
 * When the supervisor itself fails, it prints one line on stderr saying what failed and exits 125
 * (the children list cannot be read, so it cannot reap), 127 or 126 (the program cannot be started
 * again). Rejects with ReaperError `ERR_REAPER_NOT_MAIN_THREAD` in a worker thread.
 *
 * The child recognises itself by a variable naming its parent's pid, so a stray copy inherited from
 * elsewhere is not mistaken for it. Off Linux it supervises without reaping (nothing adopts orphans
 * there): signals are forwarded and the exit code passed on; it rejects with `ERR_X_UNSUPPORTED_PLATFORM`
 * for `waitAll` (Linux only) and for `group` on Windows, before anything starts.
 */
export async function runForked(options: RunForkedOptions = {}): Promise<void> {
  if (!isMainThread) throw new ReaperError('ERR_REAPER_NOT_MAIN_THREAD', 'runForked() re-runs the whole program: call it on the main thread, not in a worker');
  const marker = process.env[MARKER];
  if (marker !== undefined && Number(marker) === process.ppid) {
    Reflect.deleteProperty(process.env, MARKER);
    return;
  }
  checkPlatform(options);
  const reaper = reap({ subreaper: process.pid !== 1 });
  if (reaper.error !== undefined) fail(`cannot supervise: ${reaper.error.message}`, 125);
  reaper.on('error', (error) => {
    if (error !== reaper.error) say(`warning: ${error.message}`);
  });
  const start = () =>
    spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, [MARKER]: String(process.pid) },
      detached: options.group === true,
    });
  let code: number;
  try {
    code = await supervise(start, reaper, options);
  } catch (error) {
    reaper.stop();
    if (!isSpawnError(error)) fail((error as Error).message, 125);
    fail(`cannot start ${process.execPath} again: ${error.message}`, error.code === 'ENOENT' ? 127 : 126);
  }
  reaper.stop();
  process.exit(code);
}

// The supervisor runs no user code and exits right after: stderr is where its one line belongs.
const say = (message: string) => process.stderr.write(`runForked: ${message}\n`);

function fail(message: string, code: number): never {
  say(message);
  process.exit(code);
}
