import { debuglog } from 'node:util';
import type { CgroupLeaf } from './cgroup.js';
import { groupExists, liveMembers, stillMember } from './members.js';

const debug = debuglog('x:procgroup');

// How long a wait trusts kill(-pgid, 0) alone before it also reads /proc: only zombies that nobody
// reaps (init in many containers) keep a dead group's id alive longer. Doubles up to the cap.
const FIRST_SCAN_MS = 20;
const MAX_SCAN_INTERVAL_MS = 500;
// How often a group whose leader has exited is looked at, until it is gone.
const WATCH_MS = 1000;

/** Finds out, at a bounded cost, whether a group still has a live member. */
export class Liveness {
  private known: number[] = [];
  private nextScan: number;
  private interval = FIRST_SCAN_MS;

  /** `firstScan`: the time (performance.now()) before which /proc is not read. */
  constructor(
    private readonly pgid: number,
    private readonly leaf: CgroupLeaf | undefined,
    firstScan: number,
  ) {
    this.nextScan = firstScan;
  }

  /**
   * Whether a live (not zombie) member is left. The cgroup's populated flag and kill(-pgid, 0) answer
   * at once; /proc is read only while the group id is still held, now and then, to tell zombies apart.
   */
  anyLeft(now = performance.now()): boolean {
    if (this.leaf?.populated() === true) return true;
    if (!groupExists(this.pgid)) return false;
    // Elsewhere kill(-pgid, 0) cannot tell zombies from the living; their init reaps them soon.
    if (process.platform !== 'linux') return true;
    if (this.known.some((pid) => stillMember(pid, this.pgid))) return true;
    if (now < this.nextScan) return true;
    this.known = liveMembers(this.pgid);
    this.nextScan = now + this.interval;
    this.interval = Math.min(this.interval * 2, MAX_SCAN_INTERVAL_MS);
    return this.known.length > 0;
  }
}

/** A sleep that can be cut short. */
export class Pause {
  private wake: (() => void) | undefined;

  /** Resolves after `ms`, or at once when wakeUp() is called meanwhile. */
  for(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  wakeUp(): void {
    this.wake?.();
  }
}

/**
 * Polls until no live member of `pgid` is left (zombies count as gone): true; or, unless `killed()`
 * says SIGKILL was sent meanwhile, until `deadline` (a performance.now() time): false. Liveness first
 * asks the kernel cheaply (cgroup.events, kill(-pgid, 0)), so the processes being killed are not
 * competing with a scan of /proc.
 */
export async function waitGone(pgid: number, leaf: CgroupLeaf | undefined, deadline: number, killed: () => boolean, pause: Pause): Promise<boolean> {
  const start = performance.now();
  const liveness = new Liveness(pgid, leaf, start + FIRST_SCAN_MS);
  for (let delay = 1; ; delay = Math.min(delay * 2, 16)) {
    const now = performance.now();
    if (!liveness.anyLeft(now)) return true;
    if (!killed() && now >= deadline) return false;
    await pause.for(killed() ? delay : Math.min(delay, Math.max(1, deadline - now)));
  }
}

/**
 * After the leader exits on its own, notices when the rest of the group is gone too (unref'd, slow),
 * and then calls `gone` — unless `stop()` says a termination took over. Its first look is the cheap one
 * only: a leader's exit is often the start of the group's own end.
 */
export function watchForEnd(pgid: number, leaf: CgroupLeaf | undefined, stop: () => boolean, gone: () => void, liveness = new Liveness(pgid, leaf, performance.now() + WATCH_MS)): void {
  if (stop()) return;
  let left = true;
  try {
    left = liveness.anyLeft();
  } catch (error) {
    // Unknown is not gone: look again later.
    debug('group %d: %s', pgid, (error as Error).message);
  }
  if (!left) {
    gone();
    return;
  }
  setTimeout(() => {
    watchForEnd(pgid, leaf, stop, gone, liveness);
  }, WATCH_MS).unref();
}
