import { closeSync, copyFileSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { flockFree, isAlive, membersOfGroup, pidExists, scratchDir, startFixture, waitFor, type Fixture } from '@x/test-utils';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { npmProject, packTarballs } from './tarballs.js';

// signal-exit re-raises a signal only when no other listener is present; execa, write-file-atomic,
// proper-lockfile and foreground-child all use it. Our packages must not make such a process immortal.
const work = scratchDir('x-signal-exit');
const app = join(work, 'app');
let program: Fixture | undefined;
let helper = 0;

beforeAll(() => {
  const installed = npmProject(app, [...packTarballs(join(work, 'tarballs')), 'signal-exit@^4', 'execa@^9']);
  if (installed.status !== 0) throw new Error(`npm install failed: ${installed.stderr}`);
  // The program must resolve the packages installed there, so it runs from the project.
  copyFileSync(new URL('./fixtures/beside-signal-exit.mjs', import.meta.url), join(app, 'service.mjs'));
}, 240_000);

afterEach(async () => {
  // A failed run leaves the program (and with it execa's child) alive: end them here, not in the guard.
  if (program && program.child.exitCode === null && program.child.signalCode === null) {
    program.child.kill('SIGKILL');
    await program.exit();
  }
  if (helper > 0 && isAlive(helper)) process.kill(helper, 'SIGKILL');
  program = undefined;
  helper = 0;
});

describe('a process that holds a PID file and a process group beside signal-exit and execa (from the registry)', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('dies of %s, releases the PID file, and leaves nothing of its group or of execa\'s child', async (signal) => {
    const path = join(work, `${signal}.pid`);
    const started = startFixture(join(app, 'service.mjs'), [path], { cwd: app });
    program = started;
    const ready = JSON.parse(await started.nextLine(20_000)) as { helper: number; pgid: number };
    helper = ready.helper;
    const members = await waitFor(() => (membersOfGroup(ready.pgid).length >= 2 ? membersOfGroup(ready.pgid) : undefined), {
      timeout: 10_000,
      message: `the group ${ready.pgid} to have its leader and the background sleep`,
    });
    // Set up as claimed, by the kernel's account: the file names the program, its lock is held, execa's child runs.
    expect(readFileSync(path, 'latin1')).toBe(`${started.pid}\n`);
    expect(flockFree(path)).toBe(false);
    expect(isAlive(helper)).toBe(true);
    // Our own descriptor of the file: after the program unlinks it, flock(1) can still probe that file's lock.
    const held = openSync(path, 'r');
    try {
      process.kill(started.pid, signal);
      expect(await started.exit(10_000)).toEqual({ code: null, signal });
      expect({ removed: !existsSync(path), unlocked: flockFree(held) }).toEqual({ removed: true, unlocked: true });
    } finally {
      closeSync(held);
    }
    await waitFor(() => membersOfGroup(ready.pgid).length === 0 && members.every((pid) => !pidExists(pid)), {
      timeout: 10_000,
      message: `every member of group ${ready.pgid} (${members.join(', ')}) to be gone`,
    });
    // execa's cleanup runs through signal-exit, so its child goes too (as it does without our packages).
    await waitFor(() => !pidExists(helper), { timeout: 10_000, message: `execa's child ${helper} to be gone` });
  }, 60_000);
});
