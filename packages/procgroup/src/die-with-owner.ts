import { debuglog } from 'node:util';
import { killCgroup } from './cgroup.js';
import type { ProcGroupError } from './errors.js';
import { send } from './send.js';
import { theWatchdog, type Guarded } from './watchdog.js';

const debug = debuglog('x:procgroup');
const SIGKILL = 9;

// On a normal exit the owner kills what it guards itself, at once, without waiting for the watchdog.
const killEntry = ({ kind, value }: Guarded) => {
  try {
    if (kind === 'c') killCgroup(value);
    else send(-Number(value), SIGKILL);
  } catch (error) {
    debug('on exit, could not kill %s: %s', value, (error as Error).message);
  }
};

/** Who hears that guarding stopped working, by group. */
const listeners = new Set<(error: ProcGroupError) => void>();
const watchdog = () =>
  theWatchdog(killEntry, (error) => {
    for (const listener of listeners) listener(error);
  });

/** Starts the watchdog unless it runs, so that a group that cannot be guarded is not started at all. */
export function ensureWatchdog(): void {
  watchdog().ensure();
}

/**
 * Makes process group `pgid` (and its cgroup `directory`, if any) die with this process, however it
 * ends; `onUnguarded` hears when that stopped working. Returns what ends the guard, once the group is gone.
 */
export function guard(pgid: number, directory: string | undefined, onUnguarded: (error: ProcGroupError) => void): () => void {
  const watching = watchdog();
  watching.add('g', String(pgid));
  if (directory !== undefined) watching.add('c', directory);
  listeners.add(onUnguarded);
  return () => {
    listeners.delete(onUnguarded);
    watching.remove('g', String(pgid));
    if (directory !== undefined) watching.remove('c', directory);
  };
}
