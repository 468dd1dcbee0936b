import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, waitFor } from '@x/test-utils';
import { afterAll } from 'vitest';

export const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

export function scratch(): string {
  const directory = mkdtempSync(join(tmpdir(), 'x-daemon-'));
  chmodSync(directory, 0o755);
  afterAll(() => {
    rmSync(directory, { recursive: true, force: true });
  });
  return directory;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program that daemonizes (node + args) and resolves once the original process has exited. */
export function run(args: readonly string[], env: NodeJS.ProcessEnv = process.env, node: readonly string[] = []): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, [...node, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
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

export const flockFree = (path: string): boolean => spawnSync('flock', ['-n', path, 'true']).status === 0;
export const exists = existsSync;
