import { spawn } from 'node:child_process';
import { reap } from '@x/reaper';
import { waitpid } from '@x/sys';
import { parentOf, pidExists, stateOf, waitFor } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

/** Two sleepers adopted by this process (a subreaper) once their shell exits; their pids. */
async function twoOrphans(): Promise<[number, number]> {
  const shell = spawn('sh', ['-c', 'sleep 60 >/dev/null & echo $!; sleep 60 >/dev/null & echo $!'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  shell.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((resolve) => shell.once('close', resolve));
  const [first, second] = output.trim().split('\n').map(Number);
  if (first === undefined || second === undefined) throw new Error(`expected two pids from the shell, got ${JSON.stringify(output)}`);
  await waitFor(() => parentOf(first) === process.pid && parentOf(second) === process.pid, { message: 'both orphans adopted' });
  return [first, second];
}

describe('reap({ pid })', () => {
  it('reaps only the pid named by { pid }, leaving another adopted zombie alone', async () => {
    // Only to make this process a subreaper (the flag outlives the reaper).
    reap({ subreaper: true }).stop();
    const [first, second] = await twoOrphans();
    const only = reap({ pid: first });
    try {
      process.kill(first, 'SIGKILL');
      process.kill(second, 'SIGKILL');
      await waitFor(() => !pidExists(first), { message: `the named orphan ${first} reaped` });
      await waitFor(() => stateOf(second) === 'Z', { message: `the other orphan ${second} a zombie` });
      only.sweep();
      // The kernel still holds the other one for us: nobody took its status.
      expect(stateOf(second)).toBe('Z');
      expect(parentOf(second)).toBe(process.pid);
      expect(only.reaped).toBe(1);
    } finally {
      only.stop();
      waitpid(second);
    }
    expect(pidExists(second)).toBe(false);
  });

});
