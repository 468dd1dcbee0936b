import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { deadline } from './wait-for.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Every child started through here, so cleanup can kill what a failed test left. */
export const started = new Set<ChildProcess>();

class Queue<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((item: T) => void)[] = [];
  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }
  next(): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** A running fixture program: its reports (stdout lines, IPC messages) and its end. */
export class Fixture {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<Exit>;
  /** Everything the fixture (and whatever shares its stdout) wrote to stdout so far. */
  stdout = '';
  /** Everything the fixture wrote to stderr so far (for failure messages). */
  stderr = '';
  private readonly lines = new Queue<string>();
  private readonly messages = new Queue<unknown>();

  constructor(child: ChildProcess, readonly name: string) {
    this.child = child;
    if (child.pid === undefined) throw new Error(`fixture ${name} did not start`);
    this.pid = child.pid;
    started.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        started.delete(child);
        resolve({ code, signal });
      });
    });
    let partial = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) this.lines.push(line);
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    child.on('message', (message) => {
      this.messages.push(message);
    });
  }

  /** The next line the fixture prints on stdout. */
  nextLine(timeout = 10_000): Promise<string> {
    return deadline(this.lines.next(), timeout, `a line on stdout of ${this.name} (stderr: ${this.stderr.trim() || 'empty'})`);
  }

  /** The next IPC message of the fixture (spawned with `ipc: true`). */
  nextMessage<T = unknown>(timeout = 10_000): Promise<T> {
    return deadline(this.messages.next() as Promise<T>, timeout, `an IPC message from ${this.name} (stderr: ${this.stderr.trim() || 'empty'})`);
  }

  /** Waits for the fixture to exit and returns its code and signal. */
  exit(timeout = 10_000): Promise<Exit> {
    return deadline(this.exited, timeout, `${this.name} (pid ${this.pid}) to exit (stderr: ${this.stderr.trim() || 'empty'})`);
  }
}

export interface FixtureOptions extends SpawnOptions {
  /** Open an IPC channel (process.send in the fixture). Default false. */
  ipc?: boolean;
}

/**
 * Starts a fixture: a `.mjs` file run with this Node (`node <file> ...args`), or any other command
 * when `file` does not end in .mjs/.js. stdout and stderr are piped and collected.
 */
export function startFixture(file: string | URL, args: readonly string[] = [], options: FixtureOptions = {}): Fixture {
  const path = file instanceof URL ? fileURLToPath(file) : file;
  const { ipc = false, ...spawnOptions } = options;
  const isScript = /\.[mc]?js$/.test(path);
  const command = isScript ? process.execPath : path;
  const argv = isScript ? [path, ...args] : [...args];
  const child = spawn(command, argv, {
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? (['ipc'] as const) : [])],
    ...spawnOptions,
  });
  return new Fixture(child, path.split('/').pop() ?? path);
}
