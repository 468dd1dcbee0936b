import { spawn, type ChildProcess, type SpawnOptions, type StdioOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { debuglog } from 'node:util';
import { signalNumber, UnsupportedPlatformError, type SignalLike } from '@x/sys';
import { CgroupLeaf, cgroupUnavailable, killCgroup } from './cgroup.js';
import { ProcGroupError } from './errors.js';
import { groupExists, liveMembers, stillMember } from './members.js';
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
  /** Whether SIGKILL was needed: members outlived the timeout, or kill() cut the termination short. */
  readonly forced: boolean;
  /** Ms from the first signal until every member was gone (0 when it was already gone). */
  readonly duration: number;
}

/** Events of a ProcessGroup. */
export interface ProcessGroupEvents {
  /** Die-with-owner stopped working for this group (its watchdog died and could not be replaced). */
  unguarded: [error: ProcGroupError];
}

const DEFAULTS = {
  containment: 'group' as Containment,
  dieWithOwner: true,
  /** What `signal` (abort) and `timeout` of spawnGroup send first, as in child_process. */
  killSignal: 'SIGTERM' as SignalLike,
  /** terminate()'s grace period. */
  terminateTimeout: 5000,
  /** How long kill() waits for SIGKILLed members before it resorts to waiting without a deadline. */
  killTimeout: 10_000,
};

// How long a wait trusts kill(-pgid, 0) alone before it also reads /proc: only zombies that nobody
// reaps (init in many containers) keep a dead group's id alive longer. Doubles up to the cap.
const FIRST_SCAN_MS = 20;
const MAX_SCAN_INTERVAL_MS = 500;
// How often a group whose leader has exited is looked at, until it is gone.
const WATCH_MS = 1000;

// On a normal exit the owner kills what it guards itself, at once, without waiting for the watchdog.
const killEntry = ({ kind, value }: Guarded) => {
  try {
    if (kind === 'c') killCgroup(value);
    else signalQuietly(-Number(value), SIGKILL);
  } catch (error) {
    debug('on exit, could not kill %s: %s', value, (error as Error).message);
  }
};

/** Groups the watchdog guards, told when it is lost. */
const guardedGroups = new Set<ProcessGroup>();
const watchdog = () =>
  theWatchdog(killEntry, (error) => {
    for (const group of guardedGroups) group.emit('unguarded', error);
  });

/** Finds out, at a bounded cost, whether a group still has a live member. */
class Liveness {
  private known: number[] = [];
  private nextScan: number;
  private interval = FIRST_SCAN_MS;

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

/**
 * A command running as the leader of its own process group (and session), and optionally in its own
 * cgroup, with everything it starts.
 */
export class ProcessGroup extends EventEmitter<ProcessGroupEvents> implements AsyncDisposable {
  readonly child: ChildProcess;
  /** The leader's pid; undefined when the command could not be started. */
  readonly pid: number | undefined;
  /** The process group id (the leader's pid). */
  readonly pgid: number | undefined;
  readonly containment: 'group' | 'cgroup';
  /**
   * The leader's exit; rejects with the spawn error (e.g. ENOENT) when it never started. Awaiting it
   * is optional: that rejection is never reported as unhandled.
   */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly leaf: CgroupLeaf | undefined;
  private readonly guarded: boolean;
  private readonly killSignal: number;
  private readonly cleanups: (() => void)[] = [];
  private ended = false;
  private killed = false;
  private ending: Promise<GroupExit> | undefined;
  private wake: (() => void) | undefined;

  constructor(command: string, args: readonly string[], options: SpawnGroupOptions) {
    super();
    const { containment = DEFAULTS.containment, dieWithOwner = DEFAULTS.dieWithOwner, signal: abortSignal, timeout, ...spawnOptions } = options;
    if (!['group', 'cgroup', 'auto'].includes(containment)) {
      throw new ProcGroupError('ERR_PROCGROUP_BAD_OPTION', `containment must be 'group', 'cgroup' or 'auto', got ${JSON.stringify(containment)}`);
    }
    if (abortSignal !== undefined && !(abortSignal instanceof AbortSignal)) {
      throw new ProcGroupError('ERR_PROCGROUP_BAD_OPTION', 'signal must be an AbortSignal');
    }
    if (timeout !== undefined && (!Number.isFinite(timeout) || timeout < 0)) {
      throw new ProcGroupError('ERR_PROCGROUP_BAD_OPTION', `timeout must be a number of ms >= 0, got ${timeout}`);
    }
    this.killSignal = signalNumber(spawnOptions.killSignal ?? DEFAULTS.killSignal);
    this.containment = containment === 'auto' ? (cgroupUnavailable() === undefined ? 'cgroup' : 'group') : containment;
    // A group that cannot be guarded is not started at all.
    if (dieWithOwner) watchdog().ensure();
    const leaf = this.containment === 'cgroup' ? new CgroupLeaf() : undefined;
    this.leaf = leaf;
    let file = command;
    let argv = [...args];
    let gate: number | undefined;
    if (leaf !== undefined) {
      // The shim waits on a pipe until we, the privileged side, have moved it into the leaf (it may run
      // as another user by then), then execs the command: nothing the command starts is ever outside.
      const { shell } = spawnOptions;
      const target = shell === undefined || shell === false ? [command, ...args] : [typeof shell === 'string' ? shell : '/bin/sh', '-c', [command, ...args].join(' ')];
      const stdio = stdioList(spawnOptions.stdio);
      gate = stdio.length;
      spawnOptions.stdio = [...stdio, 'pipe'];
      file = '/bin/sh';
      argv = ['-c', `read -r go <&${gate} || exit 125; exec "$@" ${gate}<&-`, 'x-procgroup-shim', ...target];
      spawnOptions.shell = false;
    }
    this.child = spawn(file, argv, { ...spawnOptions, detached: true });
    this.pid = this.child.pid;
    this.pgid = this.child.pid;
    this.exited = new Promise((resolve, reject) => {
      this.child.once('exit', (code, signal) => {
        resolve({ code, signal });
      });
      // Listening keeps an 'error' nobody else listens to from throwing: it reaches `exited` instead.
      this.child.on('error', (error) => {
        if (this.child.pid === undefined) reject(error);
      });
    });
    this.exited.catch(() => undefined);
    if (this.pgid === undefined) {
      this.ended = true;
      leaf?.remove();
      this.guarded = false;
      return;
    }
    if (leaf !== undefined) this.admit(leaf, this.pgid, gate as number);
    this.guarded = dieWithOwner;
    if (dieWithOwner) {
      const guard = watchdog();
      guard.add('g', String(this.pgid));
      if (leaf !== undefined) guard.add('c', leaf.directory);
      guardedGroups.add(this);
    }
    this.endOn(abortSignal, timeout);
    debug('spawned group %d (%s) for %s', this.pgid, this.containment, command);
    void this.exited.then(() => {
      this.watchForEnd();
    });
  }

  /** Live members now: pids whose process group is ours, plus anything in our cgroup. Linux only. */
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
    // Once the leader is gone, the group id stays ours only while some process (a zombie, too) holds it.
    if (this.leaderGone() && this.leaf?.populated() !== true && !groupExists(this.pgid)) {
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
    const { signal = 'SIGTERM', timeout = DEFAULTS.terminateTimeout } = options;
    const number = signalNumber(signal);
    if (!Number.isFinite(timeout) || timeout <= 0) {
      return Promise.reject(new ProcGroupError('ERR_PROCGROUP_BAD_OPTION', `timeout must be a positive number of ms, got ${timeout}`));
    }
    if (this.ending === undefined) {
      const ending = this.end(number, timeout);
      this.ending = ending;
      // One that failed (an unreadable cgroup, say) may be tried again.
      ending.catch(() => {
        if (this.ending === ending) this.ending = undefined;
      });
    }
    return this.ending;
  }

  /**
   * SIGKILL to every member at once, then waits until all are gone. During a terminate() it cuts the
   * grace period short: SIGKILL now, and that termination resolves (with `forced: true`) as soon as all are gone.
   */
  async kill(): Promise<GroupExit> {
    const ending = this.ending;
    if (ending === undefined) return this.terminate({ signal: 'SIGKILL', timeout: DEFAULTS.killTimeout });
    this.escalate();
    return ending;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.terminate().then(() => undefined);
  }

  private async end(signal: number, timeout: number): Promise<GroupExit> {
    // A command that never started rejects here with its spawn error.
    if (this.pid === undefined) await this.exited;
    const started = performance.now();
    if (signal === SIGKILL) this.killed = true;
    if (!this.signal(signal)) return { ...(await this.exited), forced: false, duration: 0 };
    if (!(await this.waitGone(started + timeout))) {
      debug('group %d outlived %d ms; SIGKILL', this.pgid ?? -1, timeout);
      this.escalate();
      await this.waitGone(Number.POSITIVE_INFINITY);
    }
    const duration = performance.now() - started;
    this.finish();
    return { ...(await this.exited), forced: this.killed && signal !== SIGKILL, duration };
  }

  /** SIGKILL now, once, to whatever is left; a wait in progress stops waiting for the deadline. */
  private escalate(): void {
    if (this.killed || this.ended) return;
    this.killed = true;
    this.signal(SIGKILL);
    this.wake?.();
  }

  private leaderGone(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /**
   * Polls until no live member is left (zombies count as gone), or, unless SIGKILL was sent meanwhile,
   * until `deadline`. Liveness first asks the kernel cheaply (cgroup.events, kill(-pgid, 0)), so the
   * processes being killed are not competing with a scan of /proc.
   */
  private async waitGone(deadline: number): Promise<boolean> {
    const start = performance.now();
    const liveness = new Liveness(this.pgid as number, this.leaf, start + FIRST_SCAN_MS);
    for (let delay = 1; ; delay = Math.min(delay * 2, 16)) {
      const now = performance.now();
      if (!liveness.anyLeft(now)) return true;
      if (!this.killed && now >= deadline) return false;
      await this.pause(this.killed ? delay : Math.min(delay, Math.max(1, deadline - now)));
    }
  }

  /** Sleeps `ms`, or less when escalate() wakes it. */
  private pause(ms: number): Promise<void> {
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

  /**
   * Moves the waiting shim into the leaf, then lets it exec the command. When the move fails the command
   * is not run: the shim is killed and `child` emits the error.
   */
  private admit(leaf: CgroupLeaf, pid: number, gate: number): void {
    const pipe = this.child.stdio[gate] as Writable;
    // The gate is a socket pair: the shim closing its end (exec, exit) must not reach us as an error.
    pipe.on('error', (error) => {
      debug('group %d: gate: %s', pid, error.message);
    });
    leaf.adopt(pid).then(
      () => {
        pipe.end('\n', () => pipe.destroy());
      },
      (error: unknown) => {
        pipe.destroy();
        // Ended before it could be moved (terminate() right after spawning): nothing to report.
        if (this.leaderGone() || (error as NodeJS.ErrnoException).code === 'ESRCH') return;
        signalQuietly(pid, SIGKILL);
        debug('group %d: cannot move it into %s: %s', pid, leaf.directory, (error as Error).message);
        this.child.emit(
          'error',
          new ProcGroupError('ERR_PROCGROUP_NO_CGROUP', `cannot move the command into the cgroup ${leaf.directory} (${(error as Error).message}); it was not run`, {
            cause: error,
          }),
        );
      },
    );
  }

  /** Ends the whole group on `signal`'s abort (with an AbortError on `child`, as child_process) and at `timeout`. */
  private endOn(abortSignal: AbortSignal | undefined, timeout: number | undefined): void {
    if (abortSignal !== undefined) {
      const onAbort = () => {
        if (this.ended) return;
        debug('group %d: aborted', this.pgid ?? -1);
        this.endNow();
        this.child.emit('error', abortError(abortSignal.reason));
      };
      if (abortSignal.aborted) {
        process.nextTick(onAbort);
      } else {
        abortSignal.addEventListener('abort', onAbort, { once: true });
        this.cleanups.push(() => {
          abortSignal.removeEventListener('abort', onAbort);
        });
      }
    }
    if (timeout !== undefined && timeout > 0) {
      const timer = setTimeout(() => {
        debug('group %d: timeout of %d ms', this.pgid ?? -1, timeout);
        this.endNow();
      }, timeout).unref();
      this.cleanups.push(() => {
        clearTimeout(timer);
      });
    }
  }

  /** terminate() with the killSignal option (kill() for SIGKILL); failures go to debug, the caller did not ask. */
  private endNow(): void {
    const ending = this.killSignal === SIGKILL ? this.kill() : this.terminate({ signal: this.killSignal });
    ending.catch((error: unknown) => {
      debug('group %d: ending failed: %s', this.pgid ?? -1, (error as Error).message);
    });
  }

  /** The group is gone: forget it everywhere, so its id is never signalled again. */
  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    if (this.guarded && this.pgid !== undefined) {
      guardedGroups.delete(this);
      const guard = watchdog();
      guard.remove('g', String(this.pgid));
      if (this.leaf !== undefined) guard.remove('c', this.leaf.directory);
    }
    if (this.leaf !== undefined) removeLeaf(this.leaf);
    debug('group %d is gone', this.pgid ?? -1);
  }

  /**
   * After the leader exits on its own, notices when the rest of the group is gone too (unref'd, slow).
   * Its first look is the cheap one only: a leader's exit is often the start of the group's own end.
   */
  private watchForEnd(liveness = new Liveness(this.pgid as number, this.leaf, performance.now() + WATCH_MS)): void {
    if (this.ended || this.ending !== undefined) return;
    let left = true;
    try {
      left = liveness.anyLeft();
    } catch (error) {
      // Unknown is not gone: look again later.
      debug('group %d: %s', this.pgid ?? -1, (error as Error).message);
    }
    if (!left) {
      this.finish();
      return;
    }
    setTimeout(() => {
      this.watchForEnd(liveness);
    }, WATCH_MS).unref();
  }
}

/** `stdio` as a list of at least the three standard entries (undefined ones mean 'pipe', as in spawn). */
function stdioList(stdio: StdioOptions | undefined): Exclude<StdioOptions, string> {
  const list: Exclude<StdioOptions, string> = stdio === undefined ? [] : typeof stdio === 'string' ? [stdio, stdio, stdio] : [...stdio];
  while (list.length < 3) list.push(undefined);
  return list;
}

function abortError(reason: unknown): Error {
  return Object.assign(new Error('The operation was aborted', { cause: reason }), { name: 'AbortError', code: 'ABORT_ERR' });
}

/** Removes a cgroup leaf, retrying while the last members' exit is still being accounted (EBUSY). */
function removeLeaf(leaf: CgroupLeaf, attempt = 0): void {
  if (leaf.remove()) return;
  if (attempt >= 100) {
    debug('cgroup %s is still busy after 2 s; left in place', leaf.directory);
    return;
  }
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
 * options it takes, `detached` excepted; `signal` and `timeout` end the whole group). The returned group
 * can be signalled and terminated as a whole, and by default dies with this process — even when this
 * process is SIGKILLed. Linux and macOS; containment 'cgroup' is Linux only.
 */
export function spawnGroup(command: string, args: readonly string[] = [], options: SpawnGroupOptions = {}): ProcessGroup {
  // Windows has no sessions or process groups to put a command in, nor kill(-pgid) to end one.
  if (process.platform === 'win32') throw new UnsupportedPlatformError('spawnGroup (process groups)', 'Linux or macOS');
  return new ProcessGroup(command, args, options);
}
