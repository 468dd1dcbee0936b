import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { scratchDir, startFixture, type Fixture } from '@x/test-utils';


export const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

/** A scratch directory and a maker of new, distinct PID file paths in it. */
export function pidPaths(prefix: string): { dir: string; fresh: () => string } {
  const dir = scratchDir('x-pidfile');
  let counter = 0;
  return { dir, fresh: () => join(dir, `${prefix}-${++counter}.pid`) };
}

/** Starts holder.mjs on `path` and waits until it holds the file. */
export async function holder(path: string, ...args: string[]): Promise<Fixture> {
  const held = startFixture(fixture('holder.mjs'), [path, ...args]);
  const line = await held.nextLine();
  if (line !== `held ${held.pid}`) throw new Error(`holder said ${line}; stderr: ${held.stderr}`);
  return held;
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
