import { connect, type Socket } from 'node:net';
import { beParent, monitor, type ParentDeathReason } from '@x/parentdeath';
import { isAlive, startFixture, waitFor } from '@x/test-utils';
import { afterEach, describe, expect, it } from 'vitest';

const clients: Socket[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await (await beParent()).close();
});

function client(addr: string): Socket {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  const socket = connect({ host, port });
  socket.on('error', () => undefined);
  clients.push(socket);
  return socket;
}

/** Resolves what a raw client reads before the parent closes on it (or after `ms` if it does not). */
function readFor(socket: Socket, ms: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => {
      resolve({ text, closed: false });
    }, ms);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
  });
}

describe('beParent', () => {
  it('listens on loopback, exports the variables, and is idempotent', async () => {
    const before = { ...process.env };
    const info = await beParent();
    expect(await beParent()).toBe(info);
    expect(info.addr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(info.session).toMatch(/^[0-9a-f]{64}$/);
    expect(info.env).toEqual({ PARENTDEATH_ADDR: info.addr, PARENTDEATH_SESSION: info.session });
    expect(process.env.PARENTDEATH_ADDR).toBe(info.addr);
    expect(process.env.PARENTDEATH_SESSION).toBe(info.session);
    await info.close();
    expect(process.env.PARENTDEATH_ADDR).toBe(before.PARENTDEATH_ADDR);
    expect(process.env.PARENTDEATH_SESSION).toBe(before.PARENTDEATH_SESSION);
    // A new listener, with a new token, after close.
    const again = await beParent();
    expect(again.session).not.toBe(info.session);
  });

  it('greets each connection with the token and a newline, then holds it', async () => {
    const info = await beParent();
    const { text, closed } = await readFor(client(info.addr), 200);
    expect(text).toBe(`${info.session}\n`);
    expect(closed).toBe(false);
    expect(info.connections).toBe(1);
  });

  it('ends every held connection on close(), which watchers see as its death', async () => {
    const info = await beParent();
    const reasons: ParentDeathReason[] = [];
    const watch = await monitor((reason) => reasons.push(reason), { env: { ...info.env } });
    expect(watch?.active).toBe(true);
    await info.close();
    await waitFor(() => reasons.length > 0, { message: 'the watcher to see close()' });
    expect(reasons).toEqual(['disconnected']);
  });

  it('drops a client that sends anything, and keeps serving the others', async () => {
    const info = await beParent();
    const good = client(info.addr);
    const goodRead = readFor(good, 300);
    const flooder = client(info.addr);
    const flooded = readFor(flooder, 2000);
    flooder.write(Buffer.alloc(4 << 20, 0x61));
    expect((await flooded).closed).toBe(true);
    const garbage = client(info.addr);
    const garbageRead = readFor(garbage, 2000);
    garbage.write(Buffer.from([0, 255, 10, 13, 0]));
    expect((await garbageRead).closed).toBe(true);
    expect(await goodRead).toEqual({ text: `${info.session}\n`, closed: false });
    expect(info.connections).toBe(1);
  });

  it('holds at most maxConnections; the ones past the cap are closed at once', async () => {
    await (await beParent()).close();
    const info = await beParent({ maxConnections: 20 });
    const reads = Array.from({ length: 200 }, () => readFor(client(info.addr), 500));
    const results = await Promise.all(reads);
    expect(results.filter((result) => !result.closed && result.text === `${info.session}\n`)).toHaveLength(20);
    expect(results.filter((result) => result.closed && result.text === '')).toHaveLength(180);
    expect(info.connections).toBe(20);
  });

  it('rejects a cap that is not a positive integer', async () => {
    await (await beParent()).close();
    await expect(beParent({ maxConnections: 0 })).rejects.toThrow(RangeError);
    await expect(beParent({ maxConnections: 1.5 })).rejects.toMatchObject({ code: 'ERR_PARENTDEATH_BAD_OPTION', option: 'maxConnections' });
    expect(process.env.PARENTDEATH_ADDR).toBeUndefined();
    expect(process.env.PARENTDEATH_SESSION).toBeUndefined();
  });

  it('exports the new session at once, and the address with it only once listening', async () => {
    await (await beParent()).close();
    const pending = beParent();
    // Synchronously: a child started now finds a session without an address, never stale variables.
    expect(process.env.PARENTDEATH_SESSION).toMatch(/^[0-9a-f]{64}$/);
    expect(process.env.PARENTDEATH_ADDR).toBeUndefined();
    const info = await pending;
    expect(process.env.PARENTDEATH_SESSION).toBe(info.session);
    expect(process.env.PARENTDEATH_ADDR).toBe(info.addr);
  });

  it('makes a child started before it resolved fail loudly, and warns, instead of leaving it unwatched', async () => {
    const parent = startFixture(new URL('./fixtures/early-spawn.mjs', import.meta.url));
    const lines = [await parent.nextLine(), await parent.nextLine(), await parent.nextLine()].sort();
    // The early child exits 1 from its monitor()'s rejection; the one started after awaiting watches.
    expect(lines[0]).toBe('early-exit 1');
    expect(lines[1]).toBe(`parent ${parent.pid}`);
    expect(lines[2]).toMatch(/^watching \d+$/);
    expect(parent.stdout).not.toMatch(/^unwatched /m);
    expect(parent.stderr).toContain('ERR_PARENTDEATH_BAD_ENV');
    expect(parent.stderr).toContain('PARENTDEATH_ADDR is missing while PARENTDEATH_SESSION is set: the parent most likely started this process before its beParent() had resolved');
    // Once, from the parent, however many children were started too early.
    expect(parent.stderr.match(/\[PARENTDEATH_EARLY_SPAWN\] ParentDeathWarning: a child process was started before beParent\(\) resolved/g)).toHaveLength(1);
    const watching = Number(lines[2]?.split(' ')[1]);
    parent.child.kill('SIGKILL');
    await waitFor(() => !isAlive(watching), { message: 'the watching child to exit after its parent' });
  });
});
