// Run as PID 1 of a fresh PID namespace: reaps while a shell leaves orphans behind, waits until every
// orphan was reaped, then prints the zombies left in the namespace and how many were reaped, as JSON.
import { spawn } from 'node:child_process';
import { reap, sys } from '@x/lifecycle';
import { until } from './until.js';

const reaper = reap();
const orphans = Number(process.argv[2] ?? 500);
// Each `sleep` comes to PID 1 when its shell exits, still running or already a zombie: either way PID 1 reaps it.
await new Promise((resolve) => spawn('sh', ['-c', `i=0; while [ $i -lt ${orphans} ]; do sh -c 'sleep 0.01 &'; i=$((i + 1)); done`], { stdio: 'ignore' }).once('exit', resolve));
// Only orphans count as reaped (the shell above is Node's own child): once all of them are, no zombie may be left.
await until(() => reaper.reaped >= orphans, 10_000, `reaping all ${orphans} orphans`);
reaper.sweep();
const zombies = sys.listProcesses().filter((stat) => stat.state === 'Z').length;
process.stdout.write(`${JSON.stringify({ pid: process.pid, reaped: reaper.reaped, zombies })}\n`);
reaper.stop();
