import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { debuglog } from 'node:util';
import { signalNumber, type SignalLike } from '@x/sys';
import { CgroupLeaf, cgroupUnavailable, killCgroup } from './cgroup.js';
import { ProcGroupError } from './errors.js';
import { liveMembers, stillMember } from './members.js';
import { theWatchdog, type Guarded } from './watchdog.js';

const debug = debuglog('x:procgroup');
const SIGKILL = 9;

export type Containment = 'group' | 'cgroup' | 'auto';

export interface SpawnGroupOptions extends Omit<SpawnOptions, 'detached'> {
  /**
   * 'group' (default): a new session and process group led by the command. 'cgroup': that, inside a
   * fresh cgroup v2 leaf, so that members which leave the group (setsid, setpgid) are still caught.
   * 'auto': 'cgroup' where a writable cgroup v2 hierarchy with cgroup.kill exists, else 'group'.
   */
  containment?: Containment;
  /** Kill the whole group when this process ends, however it ends (default true). */
  dieWithOwner?: boolean;
}

export interface TerminateOptions {
  /** The first, polite signal (default 'SIGTERM'). */
  signal?: SignalLike;
  /** Ms to wait for every member to be gone before SIGKILL (default 5000). */
  timeout?: number;
}

/** How a group ended. */
export interface GroupExit {
  /** The leader's exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended the leader, or null. */
  readonly signal: NodeJS.Signals | null;
  /** Whether SIGKILL was needed because members outlived the timeout. */
  readonly forced: boolean;
  /** Ms from the first signal until every member was gone (0 when it was already gone). */
  readonly duration: number;
}

// On a normal exit the owner kills what it guards itself, at once, without waiting for the watchdog.
const killEntry = ({ kind, value }: Guarded) => {
  if (kind === 'c') killCgroup(value);
  else signalQuietly(-Number(value), SIGKILL);
};

/**
 * A command running as the leader of its own process group (and session), and optionally in its own
 * cgroup, with everything it starts.
 */
export class ProcessGroup implements AsyncDisposable {
  readonly child: ChildProcess;
  /** The leader's pid; undefined when the command could not be started. */
  readonly pid: number | undefined;
  /** The process group id (the leader's pid). */
  readonly pgid: number | undefined;
  readonly containment: 'group' | 'cgroup';
  /** The leader's exit; rejects with the spawn error (e.g. ENOENT) when it never started. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly leaf: CgroupLeaf | undefined;
  private readonly guarded: boolean;
  private ended = false;
  private ending: Promise<GroupExit> | undefined;

  constructor(command: string, args: readonly string[], options: SpawnGroupOptions) {
    const { containment = 'group', dieWithOwner = true, ...spawnOptions } = options;
    if (!['group', 'cgroup', 'auto'].includes(containment)) {
      throw new ProcGroupError('ERR_PROCGROUP_BAD_OPTION', `containment must be 'group', 'cgroup' or 'auto', got ${JSON.stringify(containment)}`);
    }
    this.containment = containment === 'auto' ? (cgroupUnavailable() === undefined ? 'cgroup' : 'group') : containment;
    this.leaf = this.containment === 'cgroup' ? new CgroupLeaf() : undefined;
    let file = command;
    let argv = [...args];
    if (this.leaf !== undefined) {
      // The shell moves itself into the leaf before exec, so nothing the command starts is ever outside.
      const { shell } = spawnOptions;
      const target = shell === undefined || shell === false ? [command, ...args] : [typeof shell === 'string' ? shell : '/bin/sh', '-c', [command, ...args].join(' ')];
      file = '/bin/sh';
      argv = ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', this.leaf.directory, ...target];
      spawnOptions.shell = false;
    }
    this.child = spawn(file, argv, { ...spawnOptions, detached: true });
    this.pid = this.child.pid;
    this.pgid = this.child.pid;
    this.exited = new Promise((resolve, reject) => {
      this.child.once('exit', (code, signal) => {
        resolve({ code, signal });
      });
      this.child.once('error', (error) => {
        if (this.child.pid === undefined) reject(error);
      });
    });
    if (this.pgid === undefined) {
      this.ended = true;
      this.leaf?.remove();
      this.guarded = false;
      return;
    }
    this.guarded = dieWithOwner;
    if (dieWithOwner) {
      const watchdog = theWatchdog(killEntry);
      watchdog.add('g', String(this.pgid));
      if (this.leaf !== undefined) watchdog.add('c', this.leaf.directory);
    }
    debug('spawned group %d (%s) for %s', this.pgid, this.containment, command);
    void this.exited.then(
      () => {
        this.watchForEnd();
      },
      () => undefined,
    );
  }

  /** Live members now: pids whose process group is ours, plus anything in our cgroup. */
  members(): number[] {
    if (this.ended || this.pgid === undefined) return [];
    const found = new Set(liveMembers(this.pgid));
    for (const pid of this.leaf?.members() ?? []) found.add(pid);
    return [...found];
  }

  /**
   * Sends `signal` to every member (and, with cgroup containment, to members that left the group).
   * Returns false, sending nothing, once the group is known to be gone: its id may belong to someone else.
   */
  signal(signal: SignalLike = 'SIGTERM'): boolean {
    const number = signalNumber(signal);
    if (this.ended || this.pgid === undefined) return false;
    // Once the leader is gone, the group id stays ours only while some member still holds it.
    if (this.empty()) {
      this.finish();
      return false;
    }
    try {
      process.kill(-this.pgid, number);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    if (this.leaf !== undefined) {
      if (number === SIGKILL) this.leaf.kill();
      else for (const pid of this.leaf.members()) signalQuietly(pid, number);
    }
    return true;
  }

  /**
   * Ends the whole group: sends `signal` (SIGTERM), waits until every member is gone — not only the
   * leader — and sends SIGKILL to what is left at `timeout`. Resolves how it ended. An already-ended
   * group resolves at once and is sent nothing. Concurrent calls share one termination.
   */
  terminate(options: TerminateOptions = {}): Promise<GroupExit> {
    const { signal = 'SIGTERM', timeout = 5000 } = options;
    const number = signalNumber(signal);
    if (!Number.isFinite(timeout) || timeout <= 0) {
      return Promise.reject(new ProcGroupError('ERR_PROCGROUP_BAD_OPTION', `timeout must be a positive number of ms, got ${timeout}`));
    }
    this.ending ??= this.end(number, timeout);
    return this.ending;
  }

  /** SIGKILL to every member at once, then waits until all are gone. */
  kill(): Promise<GroupExit> {
    return this.terminate({ signal: 'SIGKILL', timeout: 10_000 });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.terminate().then(() => undefined);
  }

  private async end(signal: number, timeout: number): Promise<GroupExit> {
    // A command that never started rejects here with its spawn error.
    if (this.pid === undefined) await this.exited;
    const started = performance.now();
    if (!this.signal(signal)) return { ...(await this.exited), forced: false, duration: 0 };
    let forced = false;
    if (!(await this.waitGone(started + timeout, signal === SIGKILL))) {
      forced = true;
      debug('group %d outlived %d ms; SIGKILL', this.pgid ?? -1, timeout);
      this.signal(SIGKILL);
      await this.waitGone(Number.POSITIVE_INFINITY, true);
    }
    const duration = performance.now() - started;
    this.finish();
    return { ...(await this.exited), forced, duration };
  }

  /** No live member left: the kernel knows no process in the group at all, or /proc shows only zombies. */
  private empty(): boolean {
    if (!this.leaderGone() || this.leaf?.populated() === true) return false;
    try {
      process.kill(-(this.pgid as number), 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
    }
    return this.members().length === 0;
  }

  private leaderGone(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /**
   * Polls until no live member is left (zombies count as gone). With a cgroup, its member list is the
   * whole truth. Without, /proc is scanned once for the group and then only those pids are watched;
   * after SIGKILL nothing can fork any more, otherwise the group is rescanned now and then for members
   * forked meanwhile, and once more before it is declared empty.
   */
  private async waitGone(deadline: number, afterKill: boolean): Promise<boolean> {
    const pgid = this.pgid as number;
    const leaf = this.leaf;
    // The leader counts until its exit is seen: in a cgroup it may not have moved itself in yet.
    const current =
      leaf === undefined ? () => liveMembers(pgid) : () => (this.leaderGone() ? leaf.members() : [...leaf.members(), pgid]);
    let known = current();
    let scanned = performance.now();
    for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
      const now = performance.now();
      known = leaf === undefined ? known.filter((pid) => stillMember(pid, pgid)) : current();
      if (known.length === 0 && (afterKill || leaf !== undefined)) return true;
      if (known.length === 0 || now - scanned > 50) {
        known = current();
        scanned = now;
        if (known.length === 0) return true;
      }
      if (now >= deadline) return false;
      await sleep(Math.min(delay, Math.max(1, deadline - now)));
    }
  }

  /** The group is gone: forget it everywhere, so its id is never signalled again. */
  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.guarded && this.pgid !== undefined) {
      const watchdog = theWatchdog(killEntry);
      watchdog.remove('g', String(this.pgid));
      if (this.leaf !== undefined) watchdog.remove('c', this.leaf.directory);
    }
    if (this.leaf !== undefined) removeLeaf(this.leaf);
    debug('group %d is gone', this.pgid ?? -1);
  }

  /** After the leader exits on its own, notices when the rest of the group is gone too (unref'd, slow). */
  private watchForEnd(): void {
    if (this.ended || this.ending !== undefined) return;
    if (this.empty()) {
      this.finish();
      return;
    }
    setTimeout(() => {
      this.watchForEnd();
    }, 1000).unref();
  }
}

/** Removes a cgroup leaf, retrying while the last members' exit is still being accounted (EBUSY). */
function removeLeaf(leaf: CgroupLeaf, attempt = 0): void {
  if (leaf.remove() || attempt >= 100) return;
  setTimeout(() => {
    removeLeaf(leaf, attempt + 1);
  }, 20).unref();
}

function signalQuietly(pid: number, signal: number): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Exited meanwhile.
  }
}

/**
 * Starts `command` as the leader of a new process group and session (like `child_process.spawn`, whose
 * options it takes, `detached` excepted). The returned group can be signalled and terminated as a
 * whole, and by default dies with this process — even when this process is SIGKILLed. Linux and macOS;
 * containment 'cgroup' is Linux only.
 */
export function spawnGroup(command: string, args: readonly string[] = [], options: SpawnGroupOptions = {}): ProcessGroup {
  return new ProcessGroup(command, args, options);
}
