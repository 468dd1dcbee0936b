import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beParent, daemonize, reap, spawnGroup, sys, type procgroup } from '@x/lifecycle';
import { paths, type State } from './paths.js';

const WORKERS = 3;
const worker = fileURLToPath(new URL('./worker.js', import.meta.url));

/**
 * The supervisor: daemonizes (PID file, log), becomes a subreaper, becomes a parent its workers can
 * watch, starts the worker groups, and reports ready once all of them run. SIGTERM stops the groups
 * gracefully and exits; the PID file goes with it.
 */
export async function runSupervisor(): Promise<never> {
  const { dir, pidFile, log, state } = paths();
  // Runs in every stage of daemonize(): harmless, it only makes sure the directory exists.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const daemon = await daemonize({ pidFile, stdout: log, stderr: log, timeout: 15_000 });
  const reaper = reap({ subreaper: true });
  await beParent();
  const groups: procgroup.ProcessGroup[] = [];
  const workers: State['workers'] = [];
  for (let index = 0; index < WORKERS; index++) {
    const group = spawnGroup(process.execPath, [worker], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    groups.push(group);
    const report = await new Promise<{ pid: number; grandchild: number }>((resolve, reject) => {
      group.child.once('message', (message) => {
        resolve(message as { pid: number; grandchild: number });
      });
      group.child.once('exit', () => {
        reject(new Error(`worker ${index} exited while starting`));
      });
    }).catch((error: unknown) => daemon.fail(error));
    workers.push({ pid: report.pid, pgid: group.pgid ?? 0, grandchild: report.grandchild });
  }
  const save = () => {
    const current: State = { supervisor: process.pid, workers, reaped: reaper.reaped, subreaper: sys.isChildSubreaper() };
    // Written aside and renamed into place: a reader never sees half of it.
    writeFileSync(`${state}.tmp`, `${JSON.stringify(current)}\n`);
    renameSync(`${state}.tmp`, state);
  };
  save();
  reaper.on('reap', save);
  process.stdout.write(`supervisor ${process.pid}: ${WORKERS} workers up (${reaper.reason})\n`);
  daemon.ready(`${WORKERS} workers`);
  process.once('SIGTERM', () => {
    process.stdout.write(`supervisor ${process.pid}: stopping\n`);
    void Promise.all(groups.map((group) => group.terminate({ timeout: 3000 }))).then(() => {
      reaper.stop();
      process.exit(0);
    });
  });
  return new Promise<never>(() => undefined);
}
