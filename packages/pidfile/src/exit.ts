import { signalExitCode } from '@x/sys';
import { onExit } from 'signal-exit';

/** What releaseOnExit needs of a held PID file. */
interface Releasable {
  release(): void;
}

export interface ExitRegistration {
  cancel(): void;
}

const held = new Set<Releasable>();
let removeHook: (() => void) | undefined;

/**
 * Runs at a normal exit, and at SIGINT/SIGTERM/SIGHUP (and the other fatal signals) when no other
 * listener handles the signal. The rule "re-raise only when nobody else listens" is signal-exit's, and
 * every copy of signal-exit in a process shares one set of listeners: going through it (rather than
 * listening beside it with the same rule) is what keeps a process that also uses execa, proper-lockfile
 * or write-file-atomic from ignoring SIGTERM, each waiting for the other to exit.
 */
function releaseAll(_code: number | null | undefined, signal: NodeJS.Signals | null): void {
  for (const file of held) {
    try {
      file.release();
    } catch {
      // Exiting anyway; the lock dies with the process, which is what matters.
    }
  }
  // PID 1 has no default action for signals, so the re-raised one would be ignored: exit as it would have.
  if (signal !== null && process.pid === 1) setImmediate(() => process.exit(signalExitCode(signal)));
}

/**
 * Releases `file` when the process exits normally, or is terminated by a signal that nothing else
 * handles (the signal then ends the process as it would have, so the exit status stays the signal's).
 * A process with its own SIGTERM handler decides itself; the file is released when it then exits.
 */
export function releaseOnExit(file: Releasable): ExitRegistration {
  held.add(file);
  removeHook ??= onExit(releaseAll);
  return {
    cancel: () => {
      held.delete(file);
      // Later, not now: a program that releases and re-acquires in a loop keeps the hook, which is
      // costly to set up (one signal handle per signal). Unref'd, so it never keeps the process alive.
      if (held.size === 0) {
        setImmediate(() => {
          if (held.size === 0 && removeHook !== undefined) {
            removeHook();
            removeHook = undefined;
          }
        }).unref();
      }
    },
  };
}
