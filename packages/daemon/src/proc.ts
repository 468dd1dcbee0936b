import { readFileSync } from 'node:fs';

/**
 * The few /proc/PID/stat fields the start path needs, read without @x/sys: loading it is most of what
 * importing @x/daemon costs, and a daemon's start pays that twice. (@x/sys's readProcStat does the same
 * in full; the CLI and the failure paths use it.) Undefined when there is no such process or no /proc.
 */
export function statOf(pid: number | 'self'): { sid: number; state: string; startTicks: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name may hold spaces and ')': count fields from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const sid = Number(fields[3]);
  const startTicks = Number(fields[19]);
  if (!Number.isInteger(sid) || !Number.isInteger(startTicks)) return undefined;
  return { sid, state: fields[0] ?? '?', startTicks };
}
