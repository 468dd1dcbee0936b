import { constants } from 'node:os';

/** What releaseOnExit needs of a held PID file. */
interface Releasable {
  release(): void;
}

export interface ExitRegistration {
  cancel(): void;
}

const held = new Set<Releasable>();
const TERMINATING = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let installed = false;

function releaseAll(): void {
  for (const file of held) {
    try {
      file.release();
    } catch {
      // Exiting anyway; the lock dies with the process, which is what matters.
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  // Someone else handles this signal: it decides whether we exit (and 'exit' then cleans up).
  if (process.listenerCount(signal) > 1) return;
  releaseAll();
  uninstall();
  // PID 1 has no default action for signals: exit as the signal would have.
  if (process.pid === 1) process.exit(128 + constants.signals[signal]);
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', releaseAll);
  for (const signal of TERMINATING) process.on(signal, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', releaseAll);
  for (const signal of TERMINATING) process.off(signal, onSignal);
}

/**
 * Releases `file` when the process exits normally, or is terminated by SIGINT, SIGTERM or SIGHUP while
 * nothing else listens for that signal (then the signal is raised again, so the exit status stays the
 * signal's). Listeners exist only while some file is registered.
 */
export function releaseOnExit(file: Releasable): ExitRegistration {
  held.add(file);
  install();
  return {
    cancel: () => {
      held.delete(file);
      // Later, not now: a program that releases and re-acquires in a loop keeps the listeners, which
      // are costly to set up (one signal handle each). Unref'd, so it never keeps the process alive.
      if (held.size === 0) {
        setImmediate(() => {
          if (held.size === 0) uninstall();
        }).unref();
      }
    },
  };
}
