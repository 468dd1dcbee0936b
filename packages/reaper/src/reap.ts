import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import { isChildSubreaper, peekEndedChild, readProcStat, setChildSubreaper, waitpid, type WaitResult } from '@x/sys';
import { resolveOptions, type ReapOptions, type ResolvedReapOptions } from './options.js';
import { mainThreadChildren, spawnedByNode, trackSpawns } from './spawned.js';

export type { ReapOptions } from './options.js';

const debug = debuglog('x:reaper');

/** A child that was reaped: its pid, and its exit code or terminating signal. */
export type Reaped = WaitResult;

interface Waiter {
  resolve: (result: IteratorResult<Reaped>) => void;
}

/**
 * A running reaper. Emits 'reap' with each child it reaped, and is an async iterable of them.
 */
export class Reaper extends EventEmitter<{ reap: [Reaped]; error: [Error] }> implements AsyncIterable<Reaped>, Disposable {
  /** Whether it reaps at all; see `reason` when not. */
  readonly active: boolean;
  /** Why it is inactive, or what made it active. */
  readonly reason: string;
  /** What made it unable to reap although it should (PID 1 or a subreaper), also emitted as 'error'. */
  readonly error: Error | undefined;
  /** Children reaped so far. */
  reaped = 0;
  /** Notifications dropped because an iterator consumer fell more than `bufferSize` behind. */
  dropped = 0;
  private readonly queue: Reaped[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private iterating = 0;
  private stopped = false;
  /** The code of the error the background sweeps keep failing with, reported once until a sweep succeeds. */
  private failing: string | undefined;
  private readonly onSigchld = () => {
    // A burst of SIGCHLDs becomes one sweep.
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.sweepInBackground();
    }).unref();
  };

  private readonly options: ResolvedReapOptions;

  constructor(options: ReapOptions) {
    super();
    this.options = resolveOptions(options);
    if (process.platform !== 'linux') {
      this.active = false;
      this.reason = `reaping adopted children needs Linux (this is ${process.platform}): only there does a process adopt orphans as a subreaper`;
      debug('inactive: %s', this.reason);
      return;
    }
    // A worker cannot tell the main thread's child_process children from orphans (their pids live in
    // the main thread's JavaScript), and waitpid() from any thread takes them: it would steal their
    // exits. Orphans are adopted by the main thread anyway.
    if (!isMainThread) {
      this.active = false;
      this.reason = 'reap() was called in a worker thread: it reaps only on the main thread, where orphans are adopted and child_process children are known; call it there';
      debug('inactive: %s', this.reason);
      return;
    }
    const pid1 = process.pid === 1;
    if (!pid1 && !this.options.disablePid1Check && !this.options.subreaper && !isChildSubreaper()) {
      this.active = false;
      this.reason = 'not PID 1 and not a subreaper: orphans are not adopted by this process, so there is nothing to reap (pass { subreaper: true })';
      debug('inactive: %s', this.reason);
      return;
    }
    // Without the children list nothing can be reaped safely: say so before adopting anything.
    let existing: number[];
    try {
      existing = mainThreadChildren();
    } catch (error) {
      this.active = false;
      this.error = error as Error;
      this.reason = (error as Error).message;
      debug('cannot reap: %s', this.reason);
      // Next tick, so that a listener attached right after reap() hears it; without one it is thrown.
      process.nextTick(() => this.emit('error', error as Error));
      return;
    }
    if (this.options.subreaper) setChildSubreaper(true);
    this.active = true;
    this.reason = pid1 ? 'running as PID 1' : isChildSubreaper() ? 'running as a child subreaper' : 'PID 1 check disabled';
    trackSpawns(existing);
    process.on('SIGCHLD', this.onSigchld);
    this.timer = setInterval(() => {
      this.sweepInBackground();
    }, this.options.interval).unref();
    debug('reaping (%s)', this.reason);
    // Next tick: a failure is an 'error' event, which the caller can only hear once reap() has returned.
    process.nextTick(() => {
      this.sweepInBackground();
    });
  }

  /** A sweep nobody asked for synchronously: its failure becomes an 'error' event (once per kind). */
  private sweepInBackground(): void {
    try {
      this.sweep();
      this.failing = undefined;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      debug('sweep failed: %s', (error as Error).message);
      if (this.failing === code) return;
      this.failing = code;
      this.emit('error', error as Error);
    }
  }

  /**
   * Reaps, now, every ended child this process did not start through child_process, and returns them.
   * Costs one system call when nothing has ended, whatever the number of children. Throws when the
   * children list cannot be read (ReaperError `ERR_REAPER_CHILDREN_LIST`) or waitpid fails otherwise
   * than with ECHILD; the background sweeps emit those as 'error' instead.
   */
  sweep(): Reaped[] {
    if (!this.active || this.stopped) return [];
    const reaped: Reaped[] = [];
    // Fast path: ask the kernel which child has ended, without collecting it, and collect it if it is
    // ours to collect. Only when the ended child is one of Node's (libuv collects it any moment now)
    // is every child looked at one by one.
    for (let pid = peekEndedChild(); pid !== undefined; pid = peekEndedChild()) {
      if (!this.mayReap(pid)) return [...reaped, ...this.sweepEach()];
      this.collect(pid, reaped);
    }
    return reaped;
  }

  private mayReap(pid: number): boolean {
    const { pid: only } = this.options;
    if (spawnedByNode(pid)) return false;
    if (only > 0) return pid === only;
    if (only < -1) return readProcStat(pid)?.pgid === -only;
    return true;
  }

  /** One waitpid(pid, WNOHANG) per child of the main thread that we may reap. */
  private sweepEach(): Reaped[] {
    const reaped: Reaped[] = [];
    for (const pid of mainThreadChildren()) if (this.mayReap(pid)) this.collect(pid, reaped);
    return reaped;
  }

  private collect(pid: number, into: Reaped[]): void {
    let result: Reaped | undefined;
    try {
      result = waitpid(pid);
    } catch (error) {
      // ECHILD: collected or re-parented in between.
      if ((error as NodeJS.ErrnoException).code === 'ECHILD') return;
      throw error;
    }
    if (result !== undefined) {
      into.push(result);
      this.deliver(result);
    }
  }

  private deliver(result: Reaped): void {
    this.reaped += 1;
    debug('reaped %d (%s)', result.pid, result.signal ?? `exit ${result.code ?? '?'}`);
    this.emit('reap', result);
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve({ value: result, done: false });
      return;
    }
    // Queue only for iterators; listeners already heard about it.
    if (this.iterating === 0) return;
    this.queue.push(result);
    if (this.queue.length > this.options.bufferSize) {
      this.queue.shift();
      this.dropped += 1;
    }
  }

  /** Reaped children, in order, until stop(). A consumer that falls behind loses the oldest ones. */
  [Symbol.asyncIterator](): AsyncIterator<Reaped> {
    this.iterating += 1;
    return {
      next: () => {
        const value = this.queue.shift();
        if (value !== undefined) return Promise.resolve({ value, done: false });
        if (this.stopped) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiters.push({ resolve }));
      },
      return: () => {
        this.iterating -= 1;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /** Stops reaping; pending iterators end. The subreaper flag, once set, stays. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    process.off('SIGCHLD', this.onSigchld);
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const waiter of this.waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
  }

  [Symbol.dispose](): void {
    this.stop();
  }
}

/**
 * Starts reaping zombie children in the background, as go-reaper's Reap/Start do, but never taking the
 * status of a child that Node's child_process started (on the main thread or in a worker), so their
 * 'exit' events always fire. A no-op (inactive handle, with its `reason`) unless this process is PID 1,
 * a subreaper, or `disablePid1Check` is set, and always in a worker thread. Reaps on SIGCHLD and in a
 * slow safety sweep; nothing keeps the process alive.
 *
 * When it should reap but cannot read the main thread's children list (/proc missing, or mounted for
 * another PID namespace), the handle is inactive, carries the `error`, and emits it as 'error' on the
 * next tick; a later failure of a background sweep is emitted as 'error' too. Off Linux it is always
 * inactive, with the reason (no error, no event).
 *
 * Children that exist when reap() is first called are counted as Node's and are never reaped: start
 * it early, before spawning.
 */
export function reap(options: ReapOptions = {}): Reaper {
  return new Reaper(options);
}
