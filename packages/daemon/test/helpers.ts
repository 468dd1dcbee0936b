import { readFileSync, readlinkSync } from 'node:fs';
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

