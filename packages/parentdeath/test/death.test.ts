import { isAlive, startFixture, waitFor, type Fixture } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

/** Starts parent.mjs in `mode` and waits for its child to report. */
async function family(mode: string): Promise<{ parent: Fixture; childPid: number; word: string }> {
  const parent = startFixture(fixture('parent.mjs'), [mode]);
  const lines = [await parent.nextLine(), await parent.nextLine()];
  const childLine = lines.find((line) => !line.startsWith('parent ')) ?? '';
  const [word, pid] = childLine.split(' ');
  return { parent, childPid: Number(pid), word: word ?? '' };
}

async function expectDeathNoticed(parent: Fixture, childPid: number): Promise<void> {
  expect(await parent.nextLine()).toBe('dead disconnected 1');
  await waitFor(() => !isAlive(childPid), { message: `child ${childPid} to exit after its cleanup` });
  // Exactly once: the child had 100 ms to report a second call before it exited.
  expect(parent.stdout.match(/^dead /gm)).toHaveLength(1);
}

describe('a watching child', () => {
  it('runs its callback every time its parent is SIGKILLed (30 rounds)', async () => {
    for (let round = 0; round < 30; round++) {
      const { parent, childPid, word } = await family('direct');
      expect(word).toBe('watching');
      parent.child.kill('SIGKILL');
      await expectDeathNoticed(parent, childPid);
    }
  });

  it('notices a parent that exits normally', async () => {
    const { parent, childPid } = await family('direct');
    parent.child.kill('SIGUSR1');
    expect(await parent.exit()).toEqual({ code: 0, signal: null });
    await expectDeathNoticed(parent, childPid);
  });

  it('notices a parent that crashes', async () => {
    const { parent, childPid } = await family('direct');
    parent.child.kill('SIGUSR2');
    expect((await parent.exit()).code).toBe(1);
    await expectDeathNoticed(parent, childPid);
  });

  it.each([
    ['through sh -c, which stays in between', 'sh'],
    ['through a shell that exits in between (orphaned)', 'orphaned'],
    ['in a new session through setsid -f (re-parented at once)', 'setsid'],
    ['with an explicit env built from ParentInfo.env', 'explicit-env'],
  ])('watches the original parent when launched %s', async (_, mode) => {
    const { parent, childPid, word } = await family(mode);
    expect(word).toBe('watching');
    // The child is not a direct child of the parent in most of these launches.
    parent.child.kill('SIGKILL');
    await expectDeathNoticed(parent, childPid);
  });

  it('lets a middle process that calls beParent() itself be the parent its children watch', async () => {
    const parent = startFixture(fixture('parent.mjs'), ['middle']);
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
    const parent = startFixture(fixture('parent.mjs'), ['middle']);
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
    // The child's handshake timeout is 300 ms; the parent greets nobody for 2 s after the child connected.
    const parent = startFixture(fixture('blocking-parent.mjs'), ['300', '2000']);
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
    const { parent, childPid, word } = await family('unmonitored');
    expect(word).toBe('unwatched');
    parent.child.kill('SIGKILL');
    await parent.exit();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(isAlive(childPid)).toBe(true);
    process.kill(childPid, 'SIGKILL');
  });

  it('exits on its own when its work is done: the monitor keeps nothing alive', async () => {
    const { parent, childPid, word } = await family('idle');
    expect(word).toBe('watching');
    await waitFor(() => !isAlive(childPid), { message: 'the idle child to exit by itself' });
    expect(isAlive(parent.pid)).toBe(true);
    parent.child.kill('SIGKILL');
  });

  it('surfaces an error thrown by the callback as an uncaught exception', async () => {
    const { parent, childPid } = await family('throwing');
    parent.child.kill('SIGKILL');
    await parent.exit();
    await waitFor(() => !isAlive(childPid), { message: 'the throwing child to die of its error' });
    await waitFor(() => parent.stderr.includes('cleanup failed loudly'), { message: 'the error on stderr' });
  });
});
