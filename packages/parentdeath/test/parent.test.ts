import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { beParent, monitor, type ParentDeathReason } from '@x/parentdeath';
import { isAlive, startFixture, waitFor } from '@x/test-utils';
import { afterEach, describe, expect, it } from 'vitest';

/** A raw client of the parent's listener: what it has read so far, and whether the connection ended. */
interface Client {
  readonly socket: Socket;
  text: string;
  closed: boolean;
}

const clients: Client[] = [];
afterEach(async () => {
  for (const { socket } of clients.splice(0)) socket.destroy();
  await (await beParent()).close();
});

function client(addr: string): Client {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  const socket = connect({ host, port });
  const state: Client = { socket, text: '', closed: false };
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => (state.text += chunk.toString()));
  socket.on('close', () => (state.closed = true));
  clients.push(state);
  return state;
}

/** Waits until each client has read a whole line or seen its connection end. */
async function settled(...waiting: Client[]): Promise<void> {
  await waitFor(() => waiting.every(({ text, closed }) => closed || text.includes('\n')), {
    timeout: 20_000,
    message: `${waiting.length} client(s) to be greeted or closed`,
  });
}

const TCP_STATES: Record<string, string> = { '01': 'ESTABLISHED', '06': 'TIME_WAIT', '07': 'CLOSE', '08': 'CLOSE_WAIT' };

/** What the kernel says of the client's connection ('ESTABLISHED', 'CLOSE_WAIT' once the peer closed ...), from /proc/net/tcp{,6}. */
function tcpState({ socket }: Client): string {
  const port = (n: number | undefined) => `:${(n ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'latin1').split('\n').slice(1)) {
      const [, local, remote, state] = line.trim().split(/\s+/);
      if (local?.endsWith(port(socket.localPort)) && remote?.endsWith(port(socket.remotePort))) return TCP_STATES[state ?? ''] ?? `state ${state}`;
    }
  }
  return 'gone';
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
    const first = client(info.addr);
    await settled(first);
    expect(first.text).toBe(`${info.session}\n`);
    // A later connection served: the listener had its chance to end the first one, and did not.
    const second = client(info.addr);
    await settled(second);
    expect(second.text).toBe(`${info.session}\n`);
    expect(first.closed).toBe(false);
    expect(tcpState(first)).toBe('ESTABLISHED');
    expect(info.connections).toBe(2);
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
    await settled(good);
    const flooder = client(info.addr);
    flooder.socket.write(Buffer.alloc(4 << 20, 0x61));
    await waitFor(() => flooder.closed, { timeout: 10_000, message: 'the flooder to be dropped' });
    const garbage = client(info.addr);
    garbage.socket.write(Buffer.from([0, 255, 10, 13, 0]));
    await waitFor(() => garbage.closed, { timeout: 10_000, message: 'the garbage sender to be dropped' });
    // Both were dropped after the good client was greeted: it is still held.
    expect(good).toMatchObject({ text: `${info.session}\n`, closed: false });
    expect(tcpState(good)).toBe('ESTABLISHED');
    expect(info.connections).toBe(1);
  });

  it('holds at most maxConnections; the ones past the cap are closed at once', async () => {
    await (await beParent()).close();
    const info = await beParent({ maxConnections: 20 });
    const results = Array.from({ length: 200 }, () => client(info.addr));
    await settled(...results);
    const held = results.filter((result) => !result.closed && result.text === `${info.session}\n`);
    expect(held).toHaveLength(20);
    expect(results.filter((result) => result.closed && result.text === '')).toHaveLength(180);
    // Those 180 were closed while the 20 were held (that is why they were refused); the 20 still are.
    expect(held.map(tcpState)).toEqual(Array.from({ length: 20 }, () => 'ESTABLISHED'));
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
