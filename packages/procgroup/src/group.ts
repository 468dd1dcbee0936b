import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import { signalNumber, UnsupportedPlatformError, type SignalLike } from '@x/sys';
import { CgroupLeaf } from './cgroup.js';
import { ensureWatchdog, guard } from './die-with-owner.js';
import { endOn } from './end-on.js';
import type { ProcGroupError } from './errors.js';
import { Pause, waitGone, watchForEnd } from './liveness.js';
import { groupExists, liveMembers } from './members.js';
import { DEFAULTS, resolveOptions, resolveTerminate, type SpawnGroupOptions, type TerminateOptions } from './options.js';
import { send } from './send.js';
import { admit, shimmed } from './shim.js';

const debug = debuglog('x:procgroup');
const SIGKILL = 9;

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
  private readonly killSignal: number;
  private readonly cleanups: (() => void)[] = [];
  private ended = false;
  private killed = false;
  private ending: Promise<GroupExit> | undefined;
  private readonly pause = new Pause();

  constructor(command: string, args: readonly string[], options: SpawnGroupOptions) {
    super();
    const { containment, dieWithOwner, abortSignal, timeout, killSignal, spawnOptions } = resolveOptions(options);
    this.killSignal = killSignal;
    this.containment = containment;
    // A group that cannot be guarded is not started at all.
    if (dieWithOwner) ensureWatchdog();
    const leaf = containment === 'cgroup' ? new CgroupLeaf() : undefined;
    this.leaf = leaf;
    const shim = leaf === undefined ? undefined : shimmed(command, args, spawnOptions);
    this.child = spawn(shim?.file ?? command, shim?.args ?? args, { ...(shim?.options ?? spawnOptions), detached: true });
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
      return;
    }
    if (leaf !== undefined && shim !== undefined) admit(this.child, leaf, shim.gate);
    if (dieWithOwner) {
      this.cleanups.push(
        guard(this.pgid, leaf?.directory, (error) => {
          this.emit('unguarded', error);
        }),
      );
    }
    this.cleanups.push(
      endOn(abortSignal, timeout, {
        aborted: (error) => {
          if (this.ended) return;
          debug('group %d: aborted', this.pgid ?? -1);
          this.endNow();
          this.child.emit('error', error);
        },
        timedOut: () => {
          debug('group %d: timeout of %d ms', this.pgid ?? -1, timeout ?? 0);
          this.endNow();
        },
      }),
    );
    debug('spawned group %d (%s) for %s', this.pgid, containment, command);
    void this.exited.then(() => {
      watchForEnd(this.pgid as number, leaf, () => this.ended || this.ending !== undefined, () => {
        this.finish();
      });
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
      else for (const pid of this.leaf.members()) send(pid, number);
    }
    return true;
  }

  /**
   * Ends the whole group: sends `signal` (SIGTERM), waits until every member is gone — not only the
   * leader — and sends SIGKILL to what is left at `timeout`. Resolves how it ended. An already-ended
   * group resolves at once and is sent nothing. Concurrent calls share one termination.
   */
  terminate(options: TerminateOptions = {}): Promise<GroupExit> {
    const resolved = resolveTerminate(options);
    if (resolved instanceof Error) return Promise.reject(resolved);
    if (this.ending === undefined) {
      const ending = this.end(resolved.signal, resolved.timeout);
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

  /** Until every member is gone (true) or, unless SIGKILL was sent meanwhile, `deadline` (false). */
  private waitGone(deadline: number): Promise<boolean> {
    return waitGone(this.pgid as number, this.leaf, deadline, () => this.killed, this.pause);
  }

  /** SIGKILL now, once, to whatever is left; a wait in progress stops waiting for the deadline. */
  private escalate(): void {
    if (this.killed || this.ended) return;
    this.killed = true;
    this.signal(SIGKILL);
    this.pause.wakeUp();
  }

  private leaderGone(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** terminate() with the killSignal option (kill() for SIGKILL); failures go to debug, the caller did not ask. */
  private endNow(): void {
    const ending = this.killSignal === SIGKILL ? this.kill() : this.terminate({ signal: this.killSignal });
    ending.catch((error: unknown) => {
      debug('group %d: ending failed: %s', this.pgid ?? -1, (error as Error).message);
    });
  }

  /** The group is gone: forget it everywhere (the watchdog too), so its id is never signalled again. */
  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.leaf?.removeSoon();
    debug('group %d is gone', this.pgid ?? -1);
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
