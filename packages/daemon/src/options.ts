import { DaemonError } from './errors.js';
import { notifySocketIsOurs } from './notify.js';

export interface DaemonizeOptions {
  /** Take this PID file (locked) before detaching; it ends up holding the daemon's pid. */
  pidFile?: string;
  /** Where the daemon's stdout goes: a file (appended, created 0640), or undefined for /dev/null. */
  stdout?: string;
  /** Where the daemon's stderr goes: a file (appended, created 0640), or undefined for /dev/null. */
  stderr?: string;
  /** Give the daemon readable streams of its own stdout and stderr (godaemon's CaptureOutput). */
  capture?: boolean;
  /** Open file descriptors of the caller to hand to the daemon (locks on them stay held). */
  files?: readonly number[];
  /** The daemon's working directory (default '/'). */
  cwd?: string;
  /** The daemon's umask (default 0o022). */
  umask?: number;
  /** Ms the original process waits for ready() before it gives up, ends the daemon and fails (default 30 000). */
  timeout?: number;
  /** Wait for ready() (default true); false exits the original process as soon as the daemon is on its way. */
  wait?: boolean;
  /** Do not fork: become the daemon in place. */
  foreground?: boolean;
  /**
   * systemd started this very process (Type=notify or simple): stay in the foreground and send
   * READY=1 to NOTIFY_SOCKET. Default: true only when NOTIFY_SOCKET is set and SYSTEMD_EXEC_PID is
   * this pid (systemd >= 248 sets it); pass true for older systemd.
   */
  systemd?: boolean;
  /**
   * A failure in the original process before the daemon runs (already running, a log file or the PID
   * file cannot be opened, Node cannot be started again) prints `daemon failed to start: <why>` and
   * exits 1, as any later failure does (default true). false: daemonize() rejects with the error.
   */
  exitOnError?: boolean;
}

const DEFAULTS = {
  cwd: '/',
  umask: 0o022,
  timeout: 30_000,
  wait: true,
  capture: false,
  foreground: false,
  exitOnError: true,
  files: [] as readonly number[],
};

export type Resolved = typeof DEFAULTS &
  Pick<DaemonizeOptions, 'pidFile' | 'stdout' | 'stderr'> & {
    /** systemd started this very process: given, or else told by NOTIFY_SOCKET and SYSTEMD_EXEC_PID. */
    readonly systemd: boolean;
    /** cwd and umask the caller gave (the foreground applies only those). */
    readonly explicit: { readonly cwd: boolean; readonly umask: boolean };
  };

const bad = (message: string) => new DaemonError('ERR_DAEMON_BAD_OPTION', message);

/** Checks `options` and fills in every default; the rest of @x/daemon reads only this. */
export function resolveOptions(options: DaemonizeOptions): Resolved {
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as DaemonizeOptions;
  const resolved: Resolved = {
    ...DEFAULTS,
    ...defined,
    systemd: defined.systemd ?? notifySocketIsOurs(),
    explicit: { cwd: defined.cwd !== undefined, umask: defined.umask !== undefined },
  };
  const { timeout, umask, files, cwd } = resolved;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0 || timeout > 2 ** 31 - 1) {
    throw bad(`timeout must be a positive number of ms up to 2^31-1, got ${timeout}`);
  }
  if (!Number.isInteger(umask) || umask < 0 || umask > 0o777) throw bad(`umask must be an integer from 0 to 0o777, got ${umask}`);
  if (typeof cwd !== 'string' || cwd.length === 0) throw bad(`cwd must be a directory path, got ${JSON.stringify(cwd)}`);
  if (!Array.isArray(files)) throw bad('files must be an array of open file descriptors');
  for (const fd of files) if (!Number.isInteger(fd) || fd < 0) throw bad(`files must be open file descriptors, got ${fd}`);
  if (resolved.capture && (resolved.stdout !== undefined || resolved.stderr !== undefined)) {
    throw bad('capture and stdout/stderr files exclude each other: output goes to one place');
  }
  return resolved;
}
