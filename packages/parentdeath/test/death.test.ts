import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, scratchDir, startFixture, waitFor, type Fixture } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const node = process.execPath;
const child = fixture('child.mjs');
const dir = scratchDir('x-parentdeath');

/** Starts `parent` (parent.mjs starting `command` by default) and waits for its child to report. */
async function family(command: readonly string[], parent = fixture('parent.mjs')): Promise<{ parent: Fixture; childPid: number; word: string }> {
  const started = startFixture(parent, command);
  const lines = [await started.nextLine(), await started.nextLine()];
  const childLine = lines.find((line) => !line.startsWith('parent ')) ?? '';
  const [word, pid] = childLine.split(' ');
  return { parent: started, childPid: Number(pid), word: word ?? '' };
}

async function expectDeathNoticed(parent: Fixture, childPid: number): Promise<void> {
  expect(await parent.nextLine()).toBe('dead disconnected 1');
  await waitFor(() => !isAlive(childPid), { message: `child ${childPid} to exit after its cleanup` });
  // Exactly once: the child exits only once its event loop is empty, after the last event of its
  // connection, so a second call would have printed before.
  expect(parent.stdout.match(/^dead /gm)).toHaveLength(1);
}

describe('a watching child', () => {
  it('runs its callback every time its parent is SIGKILLed (30 rounds)', async () => {
    for (let round = 0; round < 30; round++) {
      const { parent, childPid, word } = await family([node, child]);
      expect(word).toBe('watching');
      parent.child.kill('SIGKILL');
      await expectDeathNoticed(parent, childPid);
    }
    // Sixty Node starts: well past the default timeout when the machine is busy.
  }, 120_000);

  it('notices a parent that exits normally', async () => {
    const { parent, childPid } = await family([node, child]);
    parent.child.kill('SIGUSR1');
    expect(await parent.exit()).toEqual({ code: 0, signal: null });
    await expectDeathNoticed(parent, childPid);
  });

  it('notices a parent that crashes', async () => {
    const { parent, childPid } = await family([node, child]);
    parent.child.kill('SIGUSR2');
    expect((await parent.exit()).code).toBe(1);
    await expectDeathNoticed(parent, childPid);
  });

  it.each([
    ['through sh -c, which stays in between', ['sh', '-c', '"$0" "$1"; true', node, child]],
    ['through a shell that exits in between (orphaned)', ['sh', '-c', '"$0" "$1" & exit 0', node, child]],
    ['in a new session through setsid -f (re-parented at once)', ['setsid', '-f', node, child]],
  ])('watches the original parent when launched %s', async (_, command) => {
    const { parent, childPid, word } = await family(command);
    expect(word).toBe('watching');
    // The child is not a direct child of the parent in these launches.
    parent.child.kill('SIGKILL');
    await expectDeathNoticed(parent, childPid);
  });

  it('watches the original parent when launched with an explicit env built from ParentInfo.env', async () => {
    const { parent, childPid, word } = await family([], fixture('explicit-env-parent.mjs'));
    expect(word).toBe('watching');
    parent.child.kill('SIGKILL');
    await expectDeathNoticed(parent, childPid);
  });

  it('lets a middle process that calls beParent() itself be the parent its children watch', async () => {
    const parent = startFixture(fixture('parent.mjs'), [node, fixture('middle.mjs')]);
    const lines = [await parent.nextLine(), await parent.nextLine(), await parent.nextLine()].sort();
    expect(lines[0]).toMatch(/^middle \d+$/);
    expect(lines[1]).toBe(`parent ${parent.pid}`);
    expect(lines[2]).toMatch(/^watching \d+$/);
    const middlePid = Number(lines[0]?.split(' ')[1]);
    const childPid = Number(lines[2]?.split(' ')[1]);
    // The middle's death is the grandchild's parent death; the top parent lives on.
    process.kill(middlePid, 'SIGKILL');
    expect(await parent.nextLine()).toBe('dead disconnected 1');
    await waitFor(() => !isAlive(childPid), { message: 'the grandchild to exit' });
    expect(isAlive(parent.pid)).toBe(true);
    parent.child.kill('SIGKILL');
  });

  it('lets a middle process keep watching its own parent after calling beParent()', async () => {
    const parent = startFixture(fixture('parent.mjs'), [node, fixture('middle.mjs')]);
    const lines = [await parent.nextLine(), await parent.nextLine(), await parent.nextLine()].sort();
    const middlePid = Number(lines[0]?.split(' ')[1]);
    const childPid = Number(lines[2]?.split(' ')[1]);
    parent.child.kill('SIGKILL');
    expect(await parent.nextLine()).toBe('middle-dead disconnected');
    // When the middle exits after its cleanup, its own child sees that too.
    expect(await parent.nextLine()).toBe('dead disconnected 1');
    await waitFor(() => !isAlive(middlePid) && !isAlive(childPid), { message: 'middle and grandchild to exit' });
  });

  it('keeps watching a parent whose event loop is blocked past the handshake timeout, and still notices its death', async () => {
    // The child's handshake timeout is 300 ms; the parent greets nobody until the gate exists, which the
    // test creates only once the child's monitor() has stopped waiting for it.
    const gate = join(dir, 'gate');
    const parent = startFixture(fixture('blocking-parent.mjs'), ['300', gate]);
    await waitFor(() => /^watching \d+$/m.test(parent.stdout), {
      timeout: 20_000,
      message: `the child's monitor() to resolve while its parent is blocked (stdout: ${parent.stdout.trim()})`,
    });
    writeFileSync(gate, '');
    await waitFor(() => /^holding 1$/m.test(parent.stdout) && /^verified$/m.test(parent.stdout), {
      timeout: 20_000,
      message: `the blocked parent to greet its child late (stdout: ${parent.stdout.trim()})`,
    });
    expect(parent.stdout).not.toMatch(/^dead /m);
    const childPid = Number(/^watching (\d+)$/m.exec(parent.stdout)?.[1]);
    expect(isAlive(childPid)).toBe(true);
    // monitor() did not wait for the busy parent either: it resolved while the parent was blocked.
    expect(parent.stdout.indexOf('watching')).toBeGreaterThan(parent.stdout.indexOf('blocked'));
    expect(parent.stdout.indexOf('watching')).toBeLessThan(parent.stdout.indexOf('unblocked'));
    parent.child.kill('SIGKILL');
    await waitFor(() => /^dead disconnected 1$/m.test(parent.stdout), { message: 'the child to notice the death' });
    await waitFor(() => !isAlive(childPid), { message: `child ${childPid} to exit after its cleanup` });
  });

  it('leaves a child without the variables alone', async () => {
    // A watched sibling is the witness: once it has seen the parent die and exited, the unwatched child
    // had the same chance to react.
    const unwatched = 'env -u PARENTDEATH_ADDR -u PARENTDEATH_SESSION "$0" "$1" & exec "$0" "$1"';
    const parent = startFixture(fixture('parent.mjs'), ['sh', '-c', unwatched, node, child]);
    const lines = [await parent.nextLine(), await parent.nextLine(), await parent.nextLine()].sort();
    expect(lines[0]).toBe(`parent ${parent.pid}`);
    expect(lines[1]).toMatch(/^unwatched \d+$/);
    expect(lines[2]).toMatch(/^watching \d+$/);
    const [childPid, witnessPid] = [Number(lines[1]?.split(' ')[1]), Number(lines[2]?.split(' ')[1])];
    parent.child.kill('SIGKILL');
    await parent.exit();
    await expectDeathNoticed(parent, witnessPid);
    expect(isAlive(childPid)).toBe(true);
    process.kill(childPid, 'SIGKILL');
  });

  it('exits on its own when its work is done: the monitor keeps nothing alive', async () => {
    const { parent, childPid, word } = await family([node, fixture('idle-child.mjs')]);
    expect(word).toBe('watching');
    await waitFor(() => !isAlive(childPid), { message: 'the idle child to exit by itself' });
    expect(isAlive(parent.pid)).toBe(true);
    parent.child.kill('SIGKILL');
  });

  it('surfaces an error thrown by the callback as an uncaught exception', async () => {
    const { parent, childPid } = await family([node, fixture('throwing-child.mjs')]);
    parent.child.kill('SIGKILL');
    await parent.exit();
    await waitFor(() => !isAlive(childPid), { message: 'the throwing child to die of its error' });
    await waitFor(() => parent.stderr.includes('cleanup failed loudly'), { message: 'the error on stderr' });
  });
});
