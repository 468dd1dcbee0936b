export interface ReapOptions {
  /** Become a child subreaper first, so orphaned descendants are adopted by this process (Linux). */
  subreaper?: boolean;
  /** Reap even when this process is neither PID 1 nor a subreaper (its only adoptees are its own). */
  disablePid1Check?: boolean;
  /** Which children: -1 any (default), a pid for that one only, or -pgid for the members of one group. */
  pid?: number;
  /** Ms between safety sweeps that catch coalesced or missed SIGCHLDs (default 1000, at least 100). */
  interval?: number;
  /** Notifications kept for a slow async-iterator consumer; older ones are dropped past it (default 1024). */
  bufferSize?: number;
}

const DEFAULTS = { subreaper: false, disablePid1Check: false, pid: -1, interval: 1000, bufferSize: 1024 };

/** The most often a safety sweep runs, whatever `interval` asks for. */
const MIN_INTERVAL = 100;

export type ResolvedReapOptions = Readonly<typeof DEFAULTS>;

/** Fills in every default of reap(); the rest of @x/reaper reads only its result. */
export function resolveOptions(options: ReapOptions): ResolvedReapOptions {
  const resolved = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof ReapOptions)[]) {
    // An option given as undefined means "the default", as a missing one does.
    if (options[key] !== undefined) Object.assign(resolved, { [key]: options[key] });
  }
  resolved.interval = Math.max(MIN_INTERVAL, resolved.interval);
  return resolved;
}
