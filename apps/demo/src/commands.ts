import { existsSync, readFileSync } from 'node:fs';
import { read, signal, sys } from '@x/lifecycle';
import { paths, type State } from './paths.js';

export function loadState(): State | undefined {
  const { state } = paths();
  if (!existsSync(state)) return undefined;
  return JSON.parse(readFileSync(state, 'utf8')) as State;
}

/** Zombies among the children of `pid` right now. */
export const zombiesOf = (pid: number): number => sys.childrenOf(pid).filter((child) => sys.processState(child) === 'zombie').length;

/** `demo status`: LSB exit codes (0 running, 1 dead with a PID file, 3 not running). */
export function status(): number {
  const found = read(paths().pidFile);
  if (found.status === 'absent') {
    process.stdout.write('not running\n');
    return 3;
  }
  if (found.status === 'stale') {
    process.stdout.write(`not running; the PID file is stale: ${found.detail}\n`);
    return 1;
  }
  const state = loadState();
  const workers = state?.workers.filter((worker) => sys.processState(worker.pid) !== 'gone') ?? [];
  process.stdout.write(`running (pid ${found.pid}), ${workers.length} workers, ${state?.reaped ?? 0} orphans reaped, ${zombiesOf(found.pid)} zombies\n`);
  return 0;
}

/** `demo stop`: SIGTERM to the supervisor, confirmed through its PID file, and wait until it is gone. */
export async function stop(): Promise<number> {
  const { pidFile } = paths();
  const found = read(pidFile);
  if (found.status !== 'running') {
    process.stdout.write('not running\n');
    return 0;
  }
  const result = await signal(pidFile, 'SIGTERM', { wait: 10_000 });
  process.stdout.write(result.exited ? `stopped ${result.pid}\n` : `${result.pid} is still stopping\n`);
  return result.exited ? 0 : 1;
}
