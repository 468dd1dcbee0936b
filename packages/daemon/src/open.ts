import { closeSync, constants, openSync } from 'node:fs';
import type { PidFile } from '@x/pidfile';
import { DaemonError, messageOf } from './errors.js';

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_CLOEXEC = 0 } = constants as typeof constants & { O_CLOEXEC?: number };

/** Opens a log file to append to (created 0640, never through a symlink); ERR_DAEMON_LOG says why not. */
export function openLog(path: string): number {
  try {
    return openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o640);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' ? 'no permission to write it' : messageOf(error);
    throw new DaemonError('ERR_DAEMON_LOG', `cannot open the log file ${path}: ${hint}`, { cause: error });
  }
}

/** acquire(), with "locked" turned into ERR_DAEMON_RUNNING. */
export async function acquireOrRunning(path: string, options: { readonly removeOnExit: boolean }): Promise<PidFile> {
  // Loaded only when a PID file is used: a daemon without one starts faster.
  const { acquire, PidFileLockedError } = await import('@x/pidfile');
  try {
    return await acquire(path, { removeOnExit: options.removeOnExit });
  } catch (error) {
    if (error instanceof PidFileLockedError) {
      throw new DaemonError('ERR_DAEMON_RUNNING', `already running${error.pid === undefined ? '' : ` (pid ${error.pid})`}: ${path} is locked`, {
        cause: error,
        ...(error.pid === undefined ? {} : { pid: error.pid }),
      });
    }
    throw error;
  }
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
