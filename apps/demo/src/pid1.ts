// Run as PID 1 of a fresh PID namespace: reaps while a shell leaves orphans behind, then prints the
// zombies left in the namespace and how many were reaped, as JSON.
import { spawn } from 'node:child_process';
import { reap, sys } from '@x/lifecycle';

const reaper = reap();
const orphans = Number(process.argv[2] ?? 500);
await new Promise((resolve) => spawn('sh', ['-c', `i=0; while [ $i -lt ${orphans} ]; do sh -c 'sleep 0.01 &'; i=$((i + 1)); done`], { stdio: 'ignore' }).once('exit', resolve));
await new Promise((resolve) => setTimeout(resolve, 300));
reaper.sweep();
const zombies = sys.listProcesses().filter((stat) => stat.state === 'Z').length;
process.stdout.write(`${JSON.stringify({ pid: process.pid, reaped: reaper.reaped, zombies })}\n`);
reaper.stop();
