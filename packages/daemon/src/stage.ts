import { getsid, parseProcStat, readProcFile } from '@x/sys';
import { DaemonError } from './errors.js';

/** Where daemonize() can fork: POSIX sessions, /bin/sh, and a C library @x/sys binds. */
export const forkable = process.platform === 'linux' || process.platform === 'darwin';

export const MARKER = 'X_DAEMON_STAGE';
/** Set by the sh session leader to its own pid: the session the daemon the marker is for runs in. */
export const MARKER_SID = 'X_DAEMON_STAGE_SID';

/** 'child' is kept for compatibility: the session leader is /bin/sh now, so no Node process is in that stage. */
export type Stage = 'parent' | 'child' | 'daemon';

/** What the original process tells the daemon, in the marker variable. */
export interface Marker {
  readonly stage: 'daemon';
  /** The original process. */
  readonly from: number;
  /** Where the inherited descriptors are. */
  readonly fds: {
    readonly ready: number;
    readonly pidFile?: number;
    readonly stdout?: number;
    readonly stderr?: number;
    readonly files: readonly number[];
  };
  readonly pidFile?: string;
  /** The daemon's working directory (changed in the daemon, so that Node resolves its own arguments first). */
  readonly cwd: string;
  /** The user's own value of the marker variable, put back once the marker is read. */
  readonly original?: string;
}

/**
 * The marker, if it is really meant for this process: it runs in the session the sh stage created
 * (and named), without leading it. A copy of the variables that leaked into a program elsewhere fails
 * the check; the daemon removes them from its environment before its own children can inherit them.
 */
function authentic(stamped: string, sid: number): boolean {
  return stamped === String(sid) && sid !== process.pid;
}

/**
 * This process's session, from /proc or getsid(). Throws DaemonError (`ERR_X_UNSUPPORTED_PLATFORM`
 * where daemonize() cannot fork at all, else `ERR_DAEMON_STAGE`) when it cannot be known: daemonize()'s
 * stages tell each other apart by it, and guessing would make every stage re-run the program.
 */
export function ownSession(): number {
  if (!forkable) {
    throw new DaemonError(
      'ERR_X_UNSUPPORTED_PLATFORM',
      `daemonize() cannot detach on ${process.platform}: it needs POSIX sessions (setsid) and /bin/sh, as on Linux and macOS; run the program under the system's service manager and pass { foreground: true }`,
    );
  }
  try {
    // /proc first: getsid() loads the C library through koffi, which a start on Linux does without.
    return sessionFromProc() ?? getsid();
  } catch (error) {
    throw new DaemonError('ERR_DAEMON_STAGE', `daemonize() cannot tell its stages apart: neither /proc nor getsid() gives this process's session (${(error as Error).message}); mount /proc, or pass { foreground: true }`, { cause: error });
  }
}

/** The session in /proc/self/stat ('self', not our pid: a /proc of another PID namespace names others). */
function sessionFromProc(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return parseProcStat(readProcFile('/proc/self/stat'))?.sid;
  } catch {
    // No /proc mounted.
    return undefined;
  }
}

let current: { stage: Stage; marker: Marker | undefined; unverified?: DaemonError } | undefined;

/**
 * Reads (once) and removes the marker from the environment, restoring the user's own value. A marker
 * whose session cannot be checked leaves the stage 'parent' and says why in `unverified`: daemonize()
 * must then refuse, never start the program once more (each run would do the same, without end).
 */
export function consumeMarker(): { stage: Stage; marker: Marker | undefined; unverified?: DaemonError } {
  if (current !== undefined) return current;
  const raw = process.env[MARKER];
  const stamped = process.env[MARKER_SID];
  let marker: Marker | undefined;
  let unverified: DaemonError | undefined;
  if (raw !== undefined && stamped !== undefined) {
    let parsed: Partial<Record<keyof Marker, unknown>> | undefined;
    try {
      parsed = JSON.parse(raw) as Partial<Record<keyof Marker, unknown>>;
    } catch {
      // Not ours: a user's own value of the variable.
    }
    if (parsed?.stage === 'daemon' && Number.isInteger(parsed.from) && typeof parsed.cwd === 'string') {
      let sid: number | undefined;
      try {
        sid = ownSession();
      } catch (error) {
        unverified = error as DaemonError;
      }
      if (sid !== undefined && authentic(stamped, sid)) marker = parsed as unknown as Marker;
    }
  }
  if (marker !== undefined) {
    Reflect.deleteProperty(process.env, MARKER_SID);
    if (marker.original === undefined) Reflect.deleteProperty(process.env, MARKER);
    else process.env[MARKER] = marker.original;
  }
  current = { stage: marker?.stage ?? 'parent', marker, ...(unverified === undefined ? {} : { unverified }) };
  return current;
}

/** Marks this process as the daemon without a marker (foreground mode). */
export function becomeDaemon(): void {
  current = { stage: 'daemon', marker: undefined };
}

/**
 * Which of daemonize()'s stages this process is: 'parent' (the original process, or any process that
 * has not daemonized) or 'daemon'. ('child', the session leader, is a /bin/sh process now.)
 */
export function stage(): Stage {
  return consumeMarker().stage;
}
