import { getsid, readProcStat } from '@x/sys';

export const MARKER = 'X_DAEMON_STAGE';

export type Stage = 'parent' | 'child' | 'daemon';

/** What one stage tells the next, in the marker variable. */
export interface Marker {
  readonly stage: 'child' | 'daemon';
  /** The process that started this stage. */
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
  /** The user's own value of the marker variable, put back once the marker is read. */
  readonly original?: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The marker, if it is really meant for this process. A copy of the variable that leaked into some other
 * program's environment fails these checks: the child stage leads its own session and was started by
 * `from` (or `from` has gone); the daemon lives in the session that the child stage led, without
 * leading it.
 */
function authentic(marker: Marker): boolean {
  if (process.platform !== 'linux' && process.platform !== 'darwin') return false;
  // /proc first: it spares every stage loading the FFI just to ask for its session.
  const sid = (process.platform === 'linux' ? readProcStat(process.pid)?.sid : undefined) ?? getsid();
  if (marker.stage === 'child') return sid === process.pid && (process.ppid === marker.from || !alive(marker.from));
  return sid === marker.from && sid !== process.pid;
}

let current: { stage: Stage; marker: Marker | undefined } | undefined;

/** Reads (once) and removes the marker from the environment, restoring the user's own value. */
export function consumeMarker(): { stage: Stage; marker: Marker | undefined } {
  if (current !== undefined) return current;
  const raw = process.env[MARKER];
  let marker: Marker | undefined;
  if (raw !== undefined) {
    try {
      const parsed = JSON.parse(raw) as Marker;
      if (['child', 'daemon'].includes(parsed.stage) && Number.isInteger(parsed.from) && authentic(parsed)) marker = parsed;
    } catch {
      // Not ours: a user's own value of the variable.
    }
  }
  if (marker !== undefined) {
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
 * has not daemonized), 'child' (the short-lived session leader), or 'daemon'.
 */
export function stage(): Stage {
  return consumeMarker().stage;
}
