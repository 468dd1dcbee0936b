import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { isAlive, startFixture, waitFor } from '@x/test-utils';

export const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program that daemonizes (node + args) and resolves once the original process has exited. */
export async function run(args: readonly string[], env: NodeJS.ProcessEnv = process.env, node: readonly string[] = []): Promise<Run> {
  const started = performance.now();
  const caller = startFixture(process.execPath, [...node, ...args], { env });
  const { code, signal } = await caller.exit(30_000);
  return { code, signal, stdout: caller.stdout, stderr: caller.stderr, ms: performance.now() - started };
}

/** The daemon's pid, read from its PID file. */
export const pidIn = (path: string): number => Number(readFileSync(path, 'latin1'));

/** /proc facts about a process. */
export function proc(pid: number) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const fd = (n: number) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${n}`);
    } catch {
      return undefined;
    }
  };
  return {
    ppid: Number(fields[1]),
    pgid: Number(fields[2]),
    sid: Number(fields[3]),
    ttyNr: Number(fields[4]),
    umask: /^Umask:\s+(\d+)/m.exec(status)?.[1],
    /** Whether SIGINT and SIGQUIT are ignored (as a shell's `&` job starts them); a daemon keeps the defaults. */
    ignoresIntOrQuit: (BigInt(`0x${/^SigIgn:\s+(\w+)/m.exec(status)?.[1] ?? '0'}`) & 0b110n) !== 0n,
    cwd: readlinkSync(`/proc/${pid}/cwd`),
    fd,
    cmdline: readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean),
  };
}

/** Stops a daemon by pid and waits until it is gone. */
export async function stopDaemon(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  await waitFor(() => !isAlive(pid), { message: `daemon ${pid} to stop` });
}


/** The fds of `pid` that are the file at `path` and hold an flock on it (/proc/PID/fdinfo `lock:` lines). */
export function lockingFds(pid: number, path: string): number[] {
  const file = statSync(path);
  return readdirSync(`/proc/${pid}/fd`)
    .map(Number)
    .filter((fd) => {
      const stats = statSync(`/proc/${pid}/fd/${fd}`, { throwIfNoEntry: false });
      if (stats === undefined || stats.dev !== file.dev || stats.ino !== file.ino) return false;
      return /^lock:\s+\d+:\s+FLOCK\s/m.test(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1'));
    });
}

/** The environment `pid` started with. */
export function environOf(pid: number): Record<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').filter(Boolean);
  return Object.fromEntries(entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

/** Live (not zombie) processes of session `sid`, from /proc. */
export function liveInSession(sid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(fields[3]) === sid && fields[0] !== 'Z';
      } catch {
        return false;
      }
    });
}

/** The pids a command wrote into `file`, one a line, once there are `count` of them. */
export async function pidsIn(file: string, count: number): Promise<number[]> {
  const read = () => {
    try {
      return readFileSync(file, 'latin1').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  await waitFor(() => read().length >= count, { timeout: 10_000, message: `${count} pids in ${file}` });
  return read();
}
