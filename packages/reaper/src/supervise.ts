import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { signalExitCode } from '@x/sys';
import { ReaperError } from './errors.js';
import { mainThreadChildren } from './spawned.js';
import type { Reaper } from './reap.js';

/** The signals a supervisor passes on to its child (SIGKILL and SIGSTOP cannot be caught). */
export const FORWARDED: readonly NodeJS.Signals[] = [
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGALRM', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU',
];

export interface SuperviseOptions {
  /** Forward signals to the child's whole process group (the child must lead one). */
  group?: boolean;
  /** Exit codes of the child that the supervisor reports as 0. */
  remap?: readonly number[];
  /** After the child exits, wait until every other descendant has exited too (and was reaped). */
  waitAll?: boolean;
  /** Called with each forwarded signal, for verbose output. */
  onForward?: (signal: NodeJS.Signals, target: number) => void;
}

function send(target: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws ReaperError `ERR_X_UNSUPPORTED_PLATFORM` for what cannot work here: `waitAll` needs Linux (only
 * a Linux subreaper adopts the descendants, and only /proc lists them), `group` needs POSIX process
 * groups (not on Windows). Forwarding signals and passing the exit code on work everywhere.
 */
export function checkPlatform(options: Pick<SuperviseOptions, 'group' | 'waitAll'>): void {
  if (options.waitAll === true && process.platform !== 'linux') {
    throw new ReaperError(
      'ERR_X_UNSUPPORTED_PLATFORM',
      `waiting for every descendant needs Linux, where a subreaper adopts them and /proc lists them (this is ${process.platform}): drop { waitAll: true }, or have the child wait for its own children`,
    );
  }
  if (options.group === true && process.platform === 'win32') {
    throw new ReaperError('ERR_X_UNSUPPORTED_PLATFORM', 'forwarding signals to a process group needs POSIX process groups, which Windows lacks: drop { group: true }; signals then go to the child itself');
  }
}

/** Whether `error` is child_process's failure to start a command (its syscall is `spawn <file>`). */
export function isSpawnError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && (error as NodeJS.ErrnoException).syscall?.startsWith('spawn') === true;
}

/**
 * Starts the child with `start()` and forwards signals to it (or its group) until it exits, then
 * resolves the exit code a supervisor should exit with: the child's code, or 128 + the number of the
 * signal that killed it, with `remap` codes turned into 0. With `waitAll` it then waits for the
 * remaining (adopted) descendants, forwarding signals to each of them. The handlers are installed
 * before the child starts, so no signal that arrives while it starts is lost; a signal that arrives
 * before it has a pid is delivered as soon as it has one. Rejects with the spawn error (ENOENT, EACCES),
 * or, with `waitAll`, with ReaperError `ERR_REAPER_CHILDREN_LIST` when the descendants cannot be listed;
 * before starting anything, with `ERR_X_UNSUPPORTED_PLATFORM` for `waitAll` off Linux or `group` on Windows.
 */
export async function supervise(start: () => ChildProcess, reaper: Reaper, options: SuperviseOptions = {}): Promise<number> {
  checkPlatform(options);
  let pid: number | undefined;
  let running = true;
  const early: NodeJS.Signals[] = [];
  const forward = (signal: NodeJS.Signals) => {
    let targets: number[];
    try {
      targets = running ? [options.group === true ? -(pid as number) : (pid as number)] : mainThreadChildren();
    } catch {
      // Waiting for the descendants reads the same list, and fails with this error right after.
      return;
    }
    for (const target of targets) if (send(target, signal)) options.onForward?.(signal, target);
  };
  const handlers = FORWARDED.map((signal) => {
    const handler = () => {
      if (pid === undefined) early.push(signal);
      else forward(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  try {
    const child = start();
    if (child.pid === undefined) throw await new Promise<Error>((resolve) => child.once('error', resolve));
    pid = child.pid;
    for (const signal of early.splice(0)) forward(signal);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve([child.exitCode, child.signalCode]);
      else child.once('exit', (exitCode, exitSignal) => { resolve([exitCode, exitSignal]); });
    });
    running = false;
    let status = signal === null ? (code ?? 1) : signalExitCode(signal);
    if (options.remap?.includes(status) === true) status = 0;
    if (options.waitAll === true) {
      // Adopted descendants: wait until the reaper has collected the last of them.
      for (let delay = 1; reaper.sweep(), mainThreadChildren().length > 0; delay = Math.min(delay * 2, 50)) await sleep(delay);
    }
    return status;
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}
