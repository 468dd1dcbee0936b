import type { ProcStat } from '@x/sys';

/** Where `x-daemon` prints: its stdout and stderr. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export const processes = (count: number): string => (count === 1 ? '1 process' : `${count} processes`);

export const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

/** "; N processes it started are still running (pids ...)", or nothing when none are. */
export const left = (survivors: readonly ProcStat[]): string =>
  survivors.length === 0
    ? ''
    : `; ${processes(survivors.length)} it started ${survivors.length === 1 ? 'is' : 'are'} still running (pids ${survivors.map((stat) => stat.pid).join(', ')}): x-daemon stop ends them`;
