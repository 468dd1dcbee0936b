import { close, listProcesses, pidfdOpen, pidfdSendSignal, processState, readProcStat, type ProcStat } from '@x/sys';

/** A daemon x-daemon or daemonize() started, by what proves it is that one. */
export interface Tree {
  /** The daemon process. */
  readonly pid: number;
  /** Its start time in clock ticks after boot (/proc/PID/stat): with the pid, its identity. */
  readonly startTicks: number;
  /** The session and process group its (exited) session leader created. */
  readonly session: number;
}

const linux = process.platform === 'linux';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const live = (stat: ProcStat) => stat.state !== 'Z' && stat.state !== 'X';

/** This process and its ancestors: never ours to signal. */
function protectedPids(table: Map<number, ProcStat>): Set<number> {
  const mine = new Set<number>();
  for (let pid: number | undefined = process.pid; pid !== undefined && pid > 0 && !mine.has(pid); pid = table.get(pid)?.ppid) mine.add(pid);
  return mine;
}

/**
 * The live processes of the tree, from one /proc scan: the daemon if it is still the same process,
 * its descendants, the orphans it left with this process when this process is their subreaper
 * (`adopter`), and every member of its session. Session members count only while the session's number
 * is not a newer process's pid (it cannot be reused while the session has members), and only if they
 * started no earlier than the daemon. Never this process or its ancestors. Linux only.
 */
export function membersOf(tree: Tree, options: { adopter?: number; exclude?: number } = {}): ProcStat[] {
  const table = new Map<number, ProcStat>();
  for (const stat of listProcesses()) table.set(stat.pid, stat);
  const mine = protectedPids(table);
  const leader = table.get(tree.session);
  const sessionOurs = leader === undefined || leader.startTicks <= tree.startTicks;
  const found = new Map<number, ProcStat>();
  const take = (stat: ProcStat) => {
    if (!live(stat) || mine.has(stat.pid) || stat.pid === options.exclude || stat.startTicks < tree.startTicks) return;
    found.set(stat.pid, stat);
  };
  const root = table.get(tree.pid);
  const rootOurs = root !== undefined && root.startTicks === tree.startTicks;
  if (rootOurs) take(root);
  if (sessionOurs) for (const stat of table.values()) if (stat.sid === tree.session) take(stat);
  // Descendants, by parent links, of the daemon (even when it is this process), of everything found
  // so far, and of the adopter's orphans.
  const parents = [...(rootOurs ? [tree.pid] : []), ...found.keys(), ...(options.adopter === undefined ? [] : [options.adopter])];
  const children = new Map<number, ProcStat[]>();
  for (const stat of table.values()) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat]);
  const seen = new Set<number>();
  while (parents.length > 0) {
    const parent = parents.shift() as number;
    if (seen.has(parent)) continue;
    seen.add(parent);
    for (const child of children.get(parent) ?? []) {
      take(child);
      parents.push(child.pid);
    }
  }
  return [...found.values()];
}

/**
 * Sends `signal` to one process through a pidfd, after checking it is still the process seen. Without
 * /proc and pidfds (off Linux) it is a plain kill(), quiet if the process is gone.
 */
export function signalExact(pid: number, startTicks: number, signal: NodeJS.Signals): void {
  if (!linux) {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone since the last look.
    }
    return;
  }
  let pidfd: number;
  try {
    pidfd = pidfdOpen(pid);
  } catch {
    // Gone already (ESRCH).
    return;
  }
  try {
    // Not processState(): its start time, read while the pidfd pins the pid, proves it is the one seen.
    const again = readProcStat(pid);
    if (again !== undefined && again.startTicks === startTicks && live(again)) pidfdSendSignal(pidfd, signal);
  } catch {
    // Exited meanwhile.
  } finally {
    close(pidfd);
  }
}

/** Signals the process group in one call, while the daemon is alive and proven in it (a pidfd pins it). */
function signalGroup(tree: Tree, signal: NodeJS.Signals): void {
  if (!linux) {
    // No /proc, no pidfd: the group, only while the daemon is still there.
    if (processState(tree.pid) === 'gone') return;
    try {
      process.kill(-tree.session, signal);
    } catch {
      // Gone meanwhile.
    }
    return;
  }
  let pidfd: number;
  try {
    pidfd = pidfdOpen(tree.pid);
  } catch {
    return;
  }
  try {
    // Not processState(): start time, group and session of the pinned daemon prove the group is its own.
    const root = readProcStat(tree.pid);
    if (root !== undefined && root.startTicks === tree.startTicks && root.pgid === tree.session && root.sid === tree.session && live(root)) {
      process.kill(-tree.session, signal);
    }
  } catch {
    // The whole group is gone.
  } finally {
    close(pidfd);
  }
}

type Scope = { adopter?: number; exclude?: number };

/** Ms a tree gets to go after SIGKILL before its survivors are reported. */
export const KILL_WAIT = 5000;

/**
 * The members of a tree as they are found over time: a process found once stays a member (by pid and
 * start time) even after its parent died and it was re-parented elsewhere, until it is gone.
 */
class Members {
  readonly known = new Map<number, number>();
  most = 0;
  constructor(
    private readonly tree: Tree,
    private readonly scope: Scope,
  ) {}

  refresh(): number[] {
    if (!linux) return stillThere(this.tree.pid);
    for (const stat of membersOf(this.tree, this.scope)) this.known.set(stat.pid, stat.startTicks);
    for (const [pid, startTicks] of this.known) if (startTicksOf(pid) !== startTicks) this.known.delete(pid);
    this.most = Math.max(this.most, this.known.size);
    return [...this.known.keys()];
  }

  /** Finds the members first, then signals the group and each of them. */
  signal(signal: NodeJS.Signals): void {
    this.refresh();
    signalGroup(this.tree, signal);
    if (linux) for (const [pid, startTicks] of this.known) signalExact(pid, startTicks, signal);
  }

  async gone(ms: number): Promise<number[]> {
    const deadline = performance.now() + ms;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const left = this.refresh();
      if (left.length === 0 || performance.now() >= deadline) return left;
      await sleep(Math.min(delay, Math.max(1, deadline - performance.now())));
    }
  }
}

function stillThere(pid: number): number[] {
  return processState(pid) === 'gone' ? [] : [pid];
}

/**
 * Ends the tree: `signal` (SIGTERM) to all of it, up to `grace` ms for it to go, then SIGKILL (again
 * to the group and to each member, so members that fork meanwhile are caught on the next round) for up
 * to KILL_WAIT ms. Returns whether SIGKILL was needed, how many processes the tree had, and which pids
 * survived even that.
 */
export async function endTree(
  tree: Tree,
  options: { signal?: NodeJS.Signals; grace?: number } & Scope = {},
): Promise<{ killed: boolean; left: number[]; found: number }> {
  const { signal = 'SIGTERM', grace = 0, ...scope } = options;
  const members = new Members(tree, scope);
  if (signal !== 'SIGKILL') {
    members.signal(signal);
    const left = await members.gone(grace);
    if (left.length === 0) return { killed: false, left, found: members.most };
  }
  const deadline = performance.now() + KILL_WAIT;
  for (;;) {
    members.signal('SIGKILL');
    const left = await members.gone(Math.min(200, Math.max(0, deadline - performance.now())));
    if (left.length === 0 || performance.now() >= deadline) return { killed: true, left, found: members.most };
  }
}

/** The start ticks of `pid`, if it is alive. */
export function startTicksOf(pid: number): number | undefined {
  // Without /proc there are no start times: alive (0, the same for every pid) or gone.
  if (!linux) return processState(pid) === 'gone' ? undefined : 0;
  const stat = readProcStat(pid);
  return stat === undefined || !live(stat) ? undefined : stat.startTicks;
}
