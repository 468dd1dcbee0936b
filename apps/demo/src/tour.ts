import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { read, sys } from '@x/lifecycle';
import { loadState, zombiesOf } from './commands.js';
import { paths } from './paths.js';
import { alive, drawTree, treeOf } from './tree.js';
import { until } from './until.js';

const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
const color = process.stdout.isTTY && process.env.NO_COLOR === undefined;
const paint = (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const ok = paint(32, '✔');
const bad = paint(31, '✘');
const dim = (text: string) => paint(2, text);
// Well past daemonize()'s own 15 s start timeout and `demo stop`'s 10 s wait.
const DEMO_TIMEOUT = 30_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `demo <args>`; one that has not ended after DEMO_TIMEOUT ms is killed (and reports code null). */
function demo(...args: string[]): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: DEMO_TIMEOUT, killSignal: 'SIGKILL' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => { resolve({ code, stdout, stderr, ms: performance.now() - started }); }));
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

const ms = (value: number) => `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;

export interface TourResult {
  passed: number;
  failed: number;
  pids: number[];
}

/** The narrated tour: every step checks what the kernel says (/proc, signals, locks), and prints it. */
export async function runTour(): Promise<TourResult> {
  const { dir, pidFile } = paths();
  rmSync(dir, { recursive: true, force: true });
  const seen = new Set<number>();
  let supervisor = 0;
  const steps: [string, () => Promise<string>][] = [
    [
      'demo start daemonizes a supervisor and waits until it is ready',
      async () => {
        const started = await demo('start');
        check(started.code === 0, `demo start exited ${started.code}: ${started.stderr.trim()}`);
        const found = read(pidFile);
        check(found.status === 'running', `the PID file says ${found.status}`);
        supervisor = found.status === 'running' ? found.pid : 0;
        const stat = sys.readProcStat(supervisor);
        check(stat !== undefined && stat.sid !== supervisor && stat.ppid !== process.pid, 'the supervisor is not detached');
        return `ready in ${ms(started.ms)}; pid ${supervisor}, session ${stat?.sid ?? '?'} (not its leader), no tty`;
      },
    ],
    [
      'it is a subreaper running 3 worker groups that watch it',
      async () => {
        await until(() => loadState() !== undefined, 5000, 'the state file');
        const state = loadState();
        check(state?.subreaper === true, 'the supervisor is not a subreaper');
        for (const worker of state?.workers ?? []) {
          check(alive(worker.pid) && sys.readProcStat(worker.pid)?.pgid === worker.pid, `worker ${worker.pid} does not lead its own group`);
          check(readFileSync(`/proc/${worker.pid}/environ`, 'latin1').includes('PARENTDEATH_ADDR='), `worker ${worker.pid} has no parent to watch`);
          check(sys.readProcStat(worker.grandchild)?.pgid === worker.pid, `the grandchild of ${worker.pid} is not in its group`);
        }
        for (const pid of treeOf(supervisor)) seen.add(pid);
        return `${state?.workers.length ?? 0} groups, ${seen.size} processes`;
      },
    ],
    [
      'demo status reads the PID file',
      async () => {
        const result = await demo('status');
        check(result.code === 0 && result.stdout.includes(`running (pid ${supervisor})`), `demo status said: ${result.stdout.trim()}`);
        return result.stdout.trim();
      },
    ],
    [
      'the orphans the workers leave behind are reaped',
      async () => {
        await until(() => (loadState()?.reaped ?? 0) >= 30 && zombiesOf(supervisor) === 0, 5000, 'all 30 orphans reaped');
        return `${loadState()?.reaped ?? 0} orphans reaped, ${zombiesOf(supervisor)} zombies`;
      },
    ],
    [
      'SIGKILL the supervisor: every worker notices, nothing survives',
      async () => {
        const before = drawTree(supervisor);
        const workers = loadState()?.workers.map((worker) => worker.pid) ?? [];
        const everyone = treeOf(supervisor);
        for (const pid of everyone) seen.add(pid);
        const killed = performance.now();
        process.kill(supervisor, 'SIGKILL');
        await until(() => workers.every((pid) => !alive(pid)), 5000, 'the workers to exit');
        const workersGone = performance.now() - killed;
        await until(() => everyone.every((pid) => !alive(pid)), 5000, 'the whole tree to be gone');
        const allGone = performance.now() - killed;
        process.stdout.write(`${dim('     before:')}\n${before.map((line) => dim(`       ${line}`)).join('\n')}\n${dim('     after:  nothing left of it')}\n`);
        return `workers gone ${ms(workersGone)} after the kill, all ${everyone.length} processes by ${ms(allGone)}`;
      },
    ],
    [
      'the PID file is now stale, and a new supervisor starts at once',
      async () => {
        const found = read(pidFile);
        check(found.status === 'stale', `the PID file says ${found.status}`);
        const started = await demo('start');
        check(started.code === 0, `demo start exited ${started.code}: ${started.stderr.trim()}`);
        const again = read(pidFile);
        supervisor = again.status === 'running' ? again.pid : 0;
        check(supervisor !== 0, 'the new supervisor is not running');
        await until(() => loadState()?.supervisor === supervisor, 5000, 'the new state file');
        for (const pid of treeOf(supervisor)) seen.add(pid);
        return `stale (${found.status === 'stale' ? found.reason : ''}); new supervisor ${supervisor} ready in ${ms(started.ms)}`;
      },
    ],
    [
      'demo stop stops it gracefully and leaves nothing behind',
      async () => {
        const everyone = treeOf(supervisor);
        for (const pid of everyone) seen.add(pid);
        const stopped = await demo('stop');
        check(stopped.code === 0, `demo stop exited ${stopped.code}: ${stopped.stdout.trim()}`);
        await until(() => everyone.every((pid) => !alive(pid)), 5000, 'every process to be gone');
        check(!existsSync(pidFile), 'the PID file is still there');
        return `${everyone.length} processes stopped in ${ms(stopped.ms)}; PID file removed`;
      },
    ],
  ];
  const root = process.getuid?.() === 0 && process.platform === 'linux';
  if (root) {
    steps.push([
      'as PID 1 of a fresh PID namespace, 500 orphans leave no zombie',
      () => {
        const pid1 = fileURLToPath(new URL('./pid1.js', import.meta.url));
        const result = spawnSync('unshare', ['-p', '-f', '--mount-proc', '--kill-child', process.execPath, pid1, '500'], { encoding: 'utf8', timeout: DEMO_TIMEOUT, killSignal: 'SIGKILL' });
        check(result.status === 0, `unshare failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`}): ${result.stderr.trim()}`);
        const report = JSON.parse(result.stdout) as { pid: number; reaped: number; zombies: number };
        check(report.pid === 1 && report.zombies === 0 && report.reaped >= 500, `as pid ${report.pid}: ${report.reaped} reaped, ${report.zombies} zombies`);
        return Promise.resolve(`pid ${report.pid}: ${report.reaped} reaped, ${report.zombies} zombies`);
      },
    ]);
  }

  process.stdout.write(`\n@x demo — a job supervisor built from @x/lifecycle\n${dim(`state in ${dir}`)}\n\n`);
  let passed = 0;
  let failed = 0;
  try {
    for (const [index, [title, step]] of steps.entries()) {
      const label = `${index + 1}. ${title}`;
      try {
        const detail = await step();
        passed += 1;
        process.stdout.write(`  ${ok} ${label.padEnd(66)} ${dim(detail)}\n`);
      } catch (error) {
        failed += 1;
        process.stdout.write(`  ${bad} ${label.padEnd(66)} ${(error as Error).message}\n`);
        break;
      }
    }
  } finally {
    // Whatever happened, leave nothing behind.
    for (const pid of seen) {
      if (alive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
  if (!root) process.stdout.write(`  ${dim('-')} ${dim('the PID-namespace step runs as root on Linux only')}\n`);
  process.stdout.write(`\n${failed === 0 ? ok : bad} ${passed} of ${steps.length} steps passed\n`);
  return { passed, failed, pids: [...seen] };
}
