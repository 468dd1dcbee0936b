import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { AcquireOptions } from '@x/pidfile';
import { scratchDir, startFixture, type Fixture } from '@x/test-utils';
import { expect } from 'vitest';

export const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

/** A scratch directory and a maker of new, distinct PID file paths in it. */
export function pidPaths(prefix: string): { dir: string; fresh: () => string } {
  const dir = scratchDir('x-pidfile');
  let counter = 0;
  return { dir, fresh: () => join(dir, `${prefix}-${++counter}.pid`) };
}

/**
 * Starts fixture `name`, which acquires `path` and prints "held <pid>", and waits until it holds the file.
 * `ipc` opens the channel whose disconnect tells the *-on-disconnect and handles-sigterm fixtures to act.
 */
export async function holding(name: string, path: string, options: { args?: string[]; ipc?: boolean } = {}): Promise<Fixture> {
  const held = startFixture(fixture(name), [path, ...(options.args ?? [])], { ipc: options.ipc ?? false });
  const line = await held.nextLine();
  if (line !== `held ${held.pid}`) throw new Error(`${name} said ${line}; stderr: ${held.stderr}`);
  return held;
}

/** Starts holder.mjs on `path` (with these acquire options) and waits until it holds the file. */
export const holder = (path: string, options?: AcquireOptions): Promise<Fixture> =>
  holding('holder.mjs', path, { args: options ? [JSON.stringify(options)] : [] });

/**
 * Stops a fixture that loops until SIGTERM and returns the report line it prints then. Fails, naming
 * the fixture, when it crashed before (exit code or signal), wrote to stderr, or gave no report.
 */
export async function stopLooping(looper: Fixture): Promise<string> {
  const who = `${looper.name} (pid ${looper.pid})`;
  looper.child.kill('SIGTERM');
  const exit = await looper.exit();
  expect(exit, `${who} crashed; stderr: ${looper.stderr.trim() || 'empty'}`).toEqual({ code: 0, signal: null });
  const report = await looper.nextLine().catch((error: unknown) => {
    throw new Error(`${who} exited without its report`, { cause: error });
  });
  expect(looper.stderr, `${who} wrote to stderr`).toBe('');
  return report;
}

/** Holds an flock on `path` with flock(1) running `sleep`, as a process that is not ours would. */
export async function foreignLock(path: string): Promise<{ pid: number; stop: () => Promise<void> }> {
  // --no-fork: flock execs the command itself, so the lock holder is the one process we kill.
  const child = spawn('flock', ['-n', '--no-fork', path, 'sh', '-c', 'echo locked; exec sleep 60'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => { resolve(); });
    child.once('exit', (code) => { reject(new Error(`flock exited with ${code}`)); });
  });
  return {
    pid: child.pid as number,
    stop: async () => {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
