import { readProcStat, startTimeOf } from '@x/sys';

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
  if (process.platform !== 'linux') {
    try {
      process.kill(pid, 0);
      return { alive: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EPERM') return { alive: true };
      return { alive: false, reason: 'gone', detail: `no process has pid ${pid}` };
    }
  }
  const stat = readProcStat(pid);
  if (stat === undefined) return { alive: false, reason: 'gone', detail: `no process has pid ${pid}` };
  if (stat.state === 'Z' || stat.state === 'X') return { alive: false, reason: 'zombie', detail: `pid ${pid} has exited (a zombie not yet reaped)` };
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
