import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { debuglog } from 'node:util';
import { ProcGroupError } from './errors.js';
// The watchdog's script (watchdog.sh, inlined by the build as text): one small shell per owner process,
// which kills every group and cgroup still announced on its pipe once the owner's end of it closes.
import source from './watchdog.sh';

const debug = debuglog('x:procgroup');

let script: string | undefined;
// Without its comment lines: the script is the shell's argument, shown whole by ps.
const theScript = () => (script ??= source.split('\n').filter((line) => !/^\s*(#|$)/.test(line)).join('\n'));

/** How long the watchdog idles with nothing to guard before it is let go (then started again on demand). */
const IDLE_MS = 250;

/** The shell the watchdog runs in (a constant, not an option: what it runs is ours, not the caller's). */
const SHELL = '/bin/sh';

export interface Guarded {
  readonly kind: 'g' | 'c';
  readonly value: string;
}

/** Why `SHELL` could not be started, as far as can be told synchronously. */
function startFailure(): ProcGroupError {
  let cause: unknown;
  try {
    accessSync(SHELL, constants.X_OK);
    cause = new Error(`spawn ${SHELL} failed`);
  } catch (error) {
    cause = error;
  }
  const message = `die-with-owner cannot start its watchdog (${(cause as Error).message}); it needs an executable ${SHELL}. Pass { dieWithOwner: false } to run without it`;
  debug('%s', message);
  return new ProcGroupError('ERR_PROCGROUP_WATCHDOG', message, { cause });
}

/**
 * Keeps groups (and cgroups) registered with a watchdog that kills them when this process dies, and
 * kills them itself on a normal exit without waiting for the watchdog. When a watchdog that was killed
 * cannot be replaced, or dies by itself, `onLost` hears why: what it guarded is unguarded now.
 */
class Watchdog {
  private child: ChildProcess | undefined;
  private readonly entries = new Map<string, Guarded>();
  private idleTimer: NodeJS.Timeout | undefined;
  private exitHookInstalled = false;
  private readonly onExit: () => void;

  constructor(
    killOnExit: (entry: Guarded) => void,
    private readonly onLost: (error: ProcGroupError) => void,
  ) {
    this.onExit = () => {
      for (const entry of this.entries.values()) killOnExit(entry);
    };
  }

  /** Starts the watchdog unless it runs; throws ERR_PROCGROUP_WATCHDOG when it cannot start. */
  ensure(): void {
    this.start();
    // Started for a group that then failed to start: let it go again if nothing is added.
    if (this.entries.size === 0 && this.idleTimer === undefined) this.idleTimer = setTimeout(() => {
      this.stop();
    }, IDLE_MS).unref();
  }

  /** Registers an entry with the running watchdog (call ensure() first). */
  add(kind: 'g' | 'c', value: string): void {
    const line = `${kind} ${value}`;
    this.entries.set(line, { kind, value });
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!this.exitHookInstalled) {
      this.exitHookInstalled = true;
      process.on('exit', this.onExit);
    }
    this.child?.stdin?.write(`${line}\n`);
  }

  remove(kind: 'g' | 'c', value: string): void {
    if (!this.entries.delete(`${kind} ${value}`)) return;
    this.child?.stdin?.write(`${kind === 'g' ? 'u' : 'd'} ${value}\n`);
    if (this.entries.size === 0) {
      this.idleTimer = setTimeout(() => {
        this.stop();
      }, IDLE_MS).unref();
    }
  }

  private start(): ChildProcess {
    if (this.child !== undefined) return this.child;
    // Its own session: signals aimed at our terminal or our process group do not reach it.
    const child = spawn(SHELL, ['-c', theScript()], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', (error) => {
      debug('watchdog: %s', error.message);
    });
    if (child.pid === undefined) throw startFailure();
    this.child = child;
    child.unref();
    (child.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null)?.unref?.();
    child.stdin.on('error', (error) => {
      debug('watchdog pipe: %s', error.message);
    });
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      debug('watchdog %d exited (%s)', child.pid ?? -1, signal ?? code);
      if (this.entries.size === 0) return;
      // Only a watchdog killed by someone is replaced: one that ended by itself would end again.
      if (signal === null) {
        this.lost(new ProcGroupError('ERR_PROCGROUP_WATCHDOG', `the die-with-owner watchdog exited by itself (code ${code ?? 'none'}); running groups will not die with this process`));
        return;
      }
      try {
        const next = this.start();
        for (const line of this.entries.keys()) next.stdin?.write(`${line}\n`);
      } catch (error) {
        this.lost(error as ProcGroupError);
      }
    });
    debug('watchdog started as pid %d', child.pid);
    return child;
  }

  private lost(error: ProcGroupError): void {
    debug('watchdog lost: %s', error.message);
    this.onLost(error);
  }

  /** Lets the watchdog go: it reads end of input and exits, with nothing left to kill. */
  private stop(): void {
    this.idleTimer = undefined;
    if (this.entries.size > 0 || this.child === undefined) return;
    const child = this.child;
    this.child = undefined;
    child.stdin?.end();
    process.off('exit', this.onExit);
    this.exitHookInstalled = false;
  }

  /** The watchdog's pid, if one runs (for diagnostics and tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }
}

let watchdog: Watchdog | undefined;

/**
 * The process-wide watchdog; `killOnExit` kills one entry synchronously when this process exits
 * normally, `onLost` is told when guarding stopped working.
 */
export function theWatchdog(killOnExit: (entry: Guarded) => void, onLost: (error: ProcGroupError) => void): Watchdog {
  watchdog ??= new Watchdog(killOnExit, onLost);
  return watchdog;
}
