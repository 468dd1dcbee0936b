import { runDaemon, type Daemon } from './daemon.js';
import { DaemonError, messageOf } from './errors.js';
import { runForeground } from './foreground.js';
import { resolveOptions, type DaemonizeOptions } from './options.js';
import { runParent } from './parent.js';
import { consumeMarker } from './stage.js';

export type { Daemon } from './daemon.js';

/**
 * Turns this program into a daemon by running it again from the start, in three stages: this process
 * -> a /bin/sh session leader -> the daemon (like godaemon's parent -> child -> daemon, without a
 * second Node start-up). The daemon is in a new session but does not lead it, so it can never acquire
 * a controlling terminal, and it is re-parented at once. Resolves only in the daemon; there it has cwd
 * '/', umask 0o022, stdin from /dev/null and stdout/stderr to /dev/null, to log files, or captured.
 *
 * The original process waits until the daemon calls ready() and exits 0; if the daemon calls fail(),
 * throws or exits before that, or the timeout passes, it ends the daemon and every process the daemon
 * started, prints why to its stderr and exits 1. With `pidFile`, the PID file is locked before anything
 * forks and handed down to the daemon without ever lapsing.
 *
 * When systemd started this very process (NOTIFY_SOCKET with SYSTEMD_EXEC_PID equal to this pid, or
 * `systemd: true`) or `foreground` is set, nothing forks: this process is the daemon, and ready()
 * notifies systemd.
 *
 * Forks on Linux and macOS. Elsewhere (Windows) it rejects with DaemonError `ERR_X_UNSUPPORTED_PLATFORM`
 * before anything starts, unless `foreground` is set; `capture` is Linux only (the same error).
 */
export async function daemonize(options: DaemonizeOptions = {}): Promise<Daemon> {
  const resolved = resolveOptions(options);
  const { stage, marker, unverified } = consumeMarker();
  if (stage === 'daemon' && marker !== undefined) return await runDaemon(marker);
  try {
    // Started as the daemon but unable to prove it: starting the program again would repeat this forever.
    if (unverified !== undefined) throw unverified;
    if (resolved.foreground || resolved.systemd) return await runForeground(resolved);
    return await runParent(resolved);
  } catch (error) {
    // The caller's choices to revisit (or, off Linux and macOS, to fall back to { foreground: true }).
    const callers = error instanceof DaemonError && (error.code === 'ERR_DAEMON_BAD_OPTION' || error.code === 'ERR_X_UNSUPPORTED_PLATFORM');
    if (!resolved.exitOnError || callers) throw error;
    process.stderr.write(`daemon failed to start: ${messageOf(error)}\n`);
    process.exit(1);
  }
}
