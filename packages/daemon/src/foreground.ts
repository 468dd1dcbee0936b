import { debuglog } from 'node:util';
import type { Daemon } from './daemon.js';
import { DaemonError, messageOf } from './errors.js';
import { claimNotifySocket, errnoOf, notify } from './notify.js';
import { acquireOrRunning } from './open.js';
import type { Resolved } from './options.js';
import { becomeDaemon } from './stage.js';

const debug = debuglog('x:daemon');

function notifyQuietly(state: Record<string, string | number>): void {
  try {
    notify(state);
  } catch (error) {
    debug('sd_notify failed: %s', messageOf(error));
  }
}

/**
 * No fork: this process is the daemon (under systemd, or `foreground`). The PID file, and the cwd and
 * umask given explicitly, apply; stdout, stderr and capture do not (systemd's journal takes the output).
 */
export async function runForeground(options: Resolved): Promise<Daemon> {
  const { systemd } = options;
  const pidFile = options.pidFile === undefined ? undefined : await acquireOrRunning(options.pidFile, { removeOnExit: true });
  try {
    if (options.explicit.cwd) process.chdir(options.cwd);
  } catch (error) {
    pidFile?.release();
    throw new DaemonError('ERR_DAEMON_BAD_OPTION', `cannot change to ${options.cwd}: ${messageOf(error)}`, { cause: error });
  }
  if (options.explicit.umask) process.umask(options.umask);
  if (options.stdout !== undefined || options.stderr !== undefined || options.capture) debug('foreground: stdout, stderr and capture do not apply');
  // Ours to use, and no child's: sd_notify(unset_environment).
  if (systemd) claimNotifySocket();
  becomeDaemon();
  let reported = false;
  return {
    pid: process.pid,
    pidFile,
    stdout: undefined,
    stderr: undefined,
    files: options.files,
    ready: (status) => {
      if (reported) return;
      reported = true;
      if (systemd) notifyQuietly({ READY: 1, MAINPID: process.pid, ...(status === undefined ? {} : { STATUS: status }) });
    },
    fail: (error) => {
      const errno = errnoOf(error);
      if (systemd) notifyQuietly({ STATUS: `failed: ${messageOf(error)}`, ...(errno === undefined ? {} : { ERRNO: errno }) });
      process.stderr.write(`daemon failed to start: ${messageOf(error)}\n`);
      process.exit(1);
    },
  };
}
