import { statOf } from './proc.js';
import { loadSys } from './sys.js';

// Without /proc the session comes from getsid(), through @x/sys (loaded here, before any check).
const sys = process.platform === 'linux' ? undefined : await loadSys();

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
function authentic(stamped: string | undefined): boolean {
  if (process.platform !== 'linux' && process.platform !== 'darwin') return false;
  const sid = sys === undefined ? statOf('self')?.sid : sys.getsid();
  return stamped === String(sid) && sid !== process.pid;
}

let current: { stage: Stage; marker: Marker | undefined } | undefined;

/** Reads (once) and removes the marker from the environment, restoring the user's own value. */
export function consumeMarker(): { stage: Stage; marker: Marker | undefined } {
  if (current !== undefined) return current;
  const raw = process.env[MARKER];
  const stamped = process.env[MARKER_SID];
  let marker: Marker | undefined;
  if (raw !== undefined && stamped !== undefined) {
    try {
      const parsed = JSON.parse(raw) as Partial<Record<keyof Marker, unknown>>;
      if (parsed.stage === 'daemon' && Number.isInteger(parsed.from) && typeof parsed.cwd === 'string' && authentic(stamped)) marker = parsed as unknown as Marker;
    } catch {
      // Not ours: a user's own value of the variable.
    }
  }
  if (marker !== undefined) {
    Reflect.deleteProperty(process.env, MARKER_SID);
    if (marker.original === undefined) Reflect.deleteProperty(process.env, MARKER);
    else process.env[MARKER] = marker.original;
  }
  current = { stage: marker?.stage ?? 'parent', marker };
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
