import { readFileSync, unlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { processes, seconds, type Output } from './output.js';
import { readRecord, removeRecord } from './record.js';
import { resolveStopOptions } from './service-options.js';
import { endTree, KILL_WAIT, signalExact, startTicksOf, type Tree } from './tree.js';
import { inspect, treeOf } from './view.js';

/** Removes the PID file if it still names `pid`, and the record. */
function removeFiles(path: string, pid: number | undefined): void {
  try {
    if (pid === undefined || Number(readFileSync(path, 'latin1').trim()) === pid) unlinkSync(path);
  } catch {
    // Gone already.
  }
  removeRecord(path);
}

async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    if (done()) return true;
    if (performance.now() >= deadline) return false;
    await sleep(Math.min(delay, Math.max(1, deadline - performance.now())));
  }
}

/** SIGTERM then SIGKILL to one process only, each through a pidfd checked against its start time. */
async function stopOne(pid: number, timeout: number): Promise<{ killed: boolean; gone: boolean }> {
  const startTicks = startTicksOf(pid);
  if (startTicks === undefined) return { killed: false, gone: true };
  const gone = () => startTicksOf(pid) !== startTicks;
  signalExact(pid, startTicks, 'SIGTERM');
  if (await until(gone, timeout)) return { killed: false, gone: true };
  signalExact(pid, startTicks, 'SIGKILL');
  return { killed: true, gone: await until(gone, KILL_WAIT) };
}

/**
 * `x-daemon stop`: stops the daemon of the PID file: SIGTERM to its whole tree (its process group, its
 * session, its descendants; each proven by the record x-daemon wrote and by pidfds), SIGKILL to what is
 * left after `timeout` ms. A start still in progress is waited for (up to `timeout`), then stopped;
 * when it is still starting then, fails with "starting". A PID file without a record that proves the
 * group gets signals to its own pid only. Exit 0 when nothing of the daemon runs any more.
 */
export async function stop(path: string, options: { readonly timeout?: number | undefined }, output: Output): Promise<number> {
  const { timeout } = resolveStopOptions(options);
  const deadline = performance.now() + timeout;
  let view = inspect(path);
  while (view.kind === 'starting') {
    if (performance.now() >= deadline) {
      output.err(`x-daemon: still starting: x-daemon start (pid ${view.caller}) has not finished; try again`);
      return 1;
    }
    await sleep(20);
    view = inspect(path);
  }
  const remaining = () => Math.max(0, deadline - performance.now());
  switch (view.kind) {
    case 'error':
      output.err(`x-daemon: ${view.message}`);
      return 1;
    case 'absent':
    case 'dead': {
      if (view.survivors.length === 0) {
        output.out(`not running${view.kind === 'dead' ? ` (${view.detail})` : ''}`);
        if (readRecord(path) !== undefined) removeFiles(path, view.kind === 'dead' ? view.pid : undefined);
        return 0;
      }
      const tree = treeOf(readRecord(path)) as Tree;
      const ended = await endTree(tree, { grace: remaining() });
      removeFiles(path, view.kind === 'dead' ? view.pid : undefined);
      if (ended.left.length > 0) {
        output.err(`x-daemon: could not end pids ${ended.left.join(', ')}`);
        return 1;
      }
      output.out(`pid ${tree.pid} had died; ended the ${processes(view.survivors.length)} it left${ended.killed ? ' (with SIGKILL)' : ''}`);
      return 0;
    }
    case 'running': {
      if (view.tree === undefined) {
        const one = await stopOne(view.pid, remaining());
        if (!one.gone) {
          output.err(`x-daemon: pid ${view.pid} survived SIGKILL`);
          return 1;
        }
        output.out(`stopped ${view.pid}${one.killed ? ' (with SIGKILL)' : ''}; no x-daemon record proves its process group, so only that pid was signalled`);
        return 0;
      }
      const ended = await endTree(view.tree, { grace: remaining() });
      removeFiles(path, view.pid);
      if (ended.left.length > 0) {
        output.err(`x-daemon: could not end pids ${ended.left.join(', ')}`);
        return 1;
      }
      output.out(
        ended.killed
          ? `${view.pid} ignored SIGTERM for ${seconds(timeout)}; sent SIGKILL to its process group and every process it started`
          : `stopped ${view.pid}`,
      );
      return 0;
    }
  }
}
