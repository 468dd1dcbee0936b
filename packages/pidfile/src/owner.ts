import { processState, readProcStat, startTimeOf } from '@x/sys';

/**
 * Slack when comparing a process's start time with the file's mtime: start times are precise to one
 * clock tick (10 ms) plus the reading of /proc/uptime (10 ms).
 */
export const START_TIME_SLACK_MS = 50;

export type Identity =
  | { alive: true }
  | { alive: false; reason: 'gone' | 'zombie' | 'reused'; detail: string };

/**
 * Whether `pid` can be the process that wrote a file last modified at `mtimeMs`: it exists, is not a
 * zombie, and started before the file was written (a process that started later reuses the pid of the
 * real owner). Without /proc only existence can be checked.
 */
export function identify(pid: number, mtimeMs: number): Identity {
  const state = processState(pid);
  if (state === 'gone') return { alive: false, reason: 'gone', detail: `no process has pid ${pid}` };
  if (state === 'zombie') return { alive: false, reason: 'zombie', detail: `pid ${pid} has exited (a zombie not yet reaped)` };
  // Without /proc there is no start time to compare: existence is all that can be known.
  if (process.platform !== 'linux') return { alive: true };
  const stat = readProcStat(pid);
  if (stat === undefined) return { alive: false, reason: 'gone', detail: `no process has pid ${pid}` };
  const started = startTimeOf(stat);
  if (started > mtimeMs + START_TIME_SLACK_MS) {
    return {
      alive: false,
      reason: 'reused',
      detail: `pid ${pid} (${stat.comm}) started ${Math.round(started - mtimeMs)} ms after the file was written, so it is not the process that wrote it`,
    };
  }
  return { alive: true };
}

export const liveOwner = (pid: number, mtimeMs: number): boolean => identify(pid, mtimeMs).alive;
