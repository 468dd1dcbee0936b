import { spawn, type ChildProcess } from 'node:child_process';
import { debuglog } from 'node:util';

const debug = debuglog('x:procgroup');

// The watchdog: one small shell per owner process, not per group. It reads "g PGID" / "u PGID" (group
// added / ended) and "c DIR" / "d DIR" (cgroup added / removed) from a pipe whose only writer is the
// owner. When the owner dies, however it dies, the kernel closes that pipe: the read loop ends and the
// watchdog kills every group still listed (cgroup.kill first), then removes the cgroups.
const SCRIPT = [
  "groups=''",
  "cgroups=''",
  "while IFS= read -r line; do",
  "  value=${line#? }",
  "  case $line in",
  "    'g '*) groups=\"$groups $value\" ;;",
  "    'u '*) left=''; for g in $groups; do [ \"$g\" = \"$value\" ] || left=\"$left $g\"; done; groups=$left ;;",
  "    'c '*) cgroups=$(printf '%s\\n%s' \"$cgroups\" \"$value\") ;;",
  "    'd '*) cgroups=$(printf '%s\\n' \"$cgroups\" | grep -vxF -e \"$value\") ;;",
  "  esac",
  "done",
  "printf '%s\\n' \"$cgroups\" | while IFS= read -r c; do [ -z \"$c\" ] || echo 1 > \"$c/cgroup.kill\"; done 2>/dev/null",
  "for g in $groups; do kill -s KILL -- \"-$g\" 2>/dev/null; done",
  "printf '%s\\n' \"$cgroups\" | while IFS= read -r c; do",
  "  [ -z \"$c\" ] && continue",
  "  tries=0",
  "  while ! rmdir \"$c\" 2>/dev/null && [ $tries -lt 100 ]; do tries=$((tries + 1)); sleep 0.02; done",
  "done",
].join('\n');

/** How long the watchdog idles with nothing to guard before it is let go (then started again on demand). */
const IDLE_MS = 250;

export interface Guarded {
  readonly kind: 'g' | 'c';
  readonly value: string;
}

/**
 * Keeps groups (and cgroups) registered with a watchdog that kills them when this process dies, and
 * kills them itself on a normal exit without waiting for the watchdog.
 */
class Watchdog {
  private child: ChildProcess | undefined;
  private readonly entries = new Map<string, Guarded>();
  private idleTimer: NodeJS.Timeout | undefined;
  private exitHookInstalled = false;
  private readonly onExit: () => void;

  constructor(killOnExit: (entry: Guarded) => void) {
    this.onExit = () => {
      for (const entry of this.entries.values()) killOnExit(entry);
    };
  }

  add(kind: 'g' | 'c', value: string): void {
    const line = `${kind} ${value}`;
    this.entries.set(line, { kind, value });
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!this.exitHookInstalled) {
      this.exitHookInstalled = true;
      process.on('exit', this.onExit);
    }
    this.send(line);
  }

  remove(kind: 'g' | 'c', value: string): void {
    if (!this.entries.delete(`${kind} ${value}`)) return;
    this.send(`${kind === 'g' ? 'u' : 'd'} ${value}`);
    if (this.entries.size === 0) {
      this.idleTimer = setTimeout(() => {
        this.stop();
      }, IDLE_MS).unref();
    }
  }

  private send(line: string): void {
    this.start().stdin?.write(`${line}\n`);
  }

  private start(): ChildProcess {
    if (this.child !== undefined) return this.child;
    // Its own session: signals aimed at our terminal or our process group do not reach it.
    const child = spawn('/bin/sh', ['-c', SCRIPT], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    this.child = child;
    child.unref();
    (child.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null)?.unref?.();
    child.stdin.on('error', (error) => {
      debug('watchdog pipe: %s', error.message);
    });
    child.on('error', (error) => {
      debug('watchdog could not start: %s', error.message);
    });
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      debug('watchdog %d exited (%s)', child.pid ?? -1, signal ?? code);
      // Killed by someone: start another and hand it everything that is still guarded.
      for (const line of this.entries.keys()) this.send(line);
    });
    debug('watchdog started as pid %d', child.pid ?? -1);
    return child;
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

/** The process-wide watchdog; `killOnExit` kills one entry synchronously when this process exits normally. */
export function theWatchdog(killOnExit: (entry: Guarded) => void): Watchdog {
  watchdog ??= new Watchdog(killOnExit);
  return watchdog;
}
