import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PidFile } from '@x/pidfile';
import { DaemonError } from './errors.js';
import { acquireOrRunning } from './open.js';
import { left } from './output.js';
import { readRecord } from './record.js';
import { inspect, survivorsOf, treeOf } from './view.js';

/**
 * Takes `x-daemon start`'s PID file: refuses (ERR_DAEMON_RUNNING) while the daemon runs, or while
 * processes a dead instance started still run — before touching the files, which tell the operator
 * which instance died — and locks it otherwise.
 */
export async function claimPidFile(path: string, options: { readonly createDirectory: boolean }): Promise<PidFile> {
  if (options.createDirectory) mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const previous = treeOf(readRecord(path));
  const before = inspect(path);
  if (before.kind === 'running') throw new DaemonError('ERR_DAEMON_RUNNING', `already running (pid ${before.pid}): ${path}`, { pid: before.pid });
  if ((before.kind === 'dead' || before.kind === 'absent') && before.survivors.length > 0) {
    throw new DaemonError('ERR_DAEMON_RUNNING', `the last instance (pid ${previous?.pid}) is dead${left(before.survivors)}`);
  }
  let pidFile: PidFile;
  try {
    pidFile = await acquireOrRunning(path, { removeOnExit: false });
  } catch (error) {
    const survivors = survivorsOf(previous);
    if (error instanceof DaemonError && error.code === 'ERR_DAEMON_RUNNING' && survivors.length > 0 && inspect(path).kind === 'dead') {
      throw new DaemonError('ERR_DAEMON_RUNNING', `the last instance (pid ${previous?.pid}) is dead, but its processes still hold ${path}${left(survivors)}`, { cause: error });
    }
    throw error;
  }
  // Under the lock now: a dead instance's tree that still runs would be a second copy.
  const survivors = survivorsOf(previous);
  if (survivors.length > 0) {
    pidFile.release();
    throw new DaemonError('ERR_DAEMON_RUNNING', `the last instance (pid ${previous?.pid}) is dead${left(survivors)}`);
  }
  return pidFile;
}
