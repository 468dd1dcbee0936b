import { readFileSync } from 'node:fs';
import { isAlive } from './probes.js';

/** What sampleProcesses() has seen. */
export interface Sampled {
  /** Every distinct pid `find` returned so far. */
  readonly seen: ReadonlySet<number>;
  /** Stops sampling after one last look; returns the pids `find` still returns that are alive (not zombies). */
  stop(): number[];
}

/**
 * Calls `find` (a /proc scan of the test's own) at once and every `interval` ms until stop(), and keeps
 * every pid it returned: which processes a run started, and which it left. A process that lives shorter
 * than `interval` can be missed, so `seen` bounds the count from below.
 */
export function sampleProcesses(find: () => Iterable<number>, interval = 10): Sampled {
  const seen = new Set<number>();
  const look = () => {
    for (const pid of find()) seen.add(pid);
  };
  const timer = setInterval(look, interval);
  look();
  return {
    seen,
    stop: () => {
      clearInterval(timer);
      look();
      return [...find()].filter(isAlive);
    },
  };
}

/**
 * Whether `pid` runs `program` (a file name its command line contains) itself: startSimulated()'s
 * wrapper (sh -c 'mount ... /proc && exec node ...') and that shell's fork running mount name the
 * program too, and are not it. False for a process that is gone.
 */
export function runsProgram(pid: number, program: string): boolean {
  let command: string;
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return false;
  }
  return command.includes(program) && !command.includes('mount -t tmpfs');
}
