import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server, type Socket } from 'node:net';
import { monitor, type ParentDeathReason } from '@x/parentdeath';
import { deadline, waitFor } from '@x/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const token = 'f00d'.repeat(16);
const servers: Server[] = [];
const accepted: Socket[] = [];

/** A socket net.connect() made (monitor()'s own): when it delivered its first chunk, and its 'close', the last event it delivers. */
interface Client {
  readonly firstChunk: Promise<void>;
  readonly closed: Promise<void>;
}
const clients: Client[] = [];
// Listening from the moment the socket exists, so that nothing it delivers is missed.
const onClientSocket = (message: unknown) => {
  const { socket } = message as { socket: Socket };
  const first = (event: string) =>
    new Promise<void>((resolve) => {
      socket.once(event, () => {
        resolve();
      });
    });
  clients.push({ firstChunk: first('data'), closed: first('close') });
};
beforeEach(() => {
  subscribe('net.client.socket', onClientSocket);
});
/** The only socket net.connect() made in this test: the monitor's. */
function onlyClient(): Client {
  expect(clients).toHaveLength(1);
  return clients[0] as Client;
}

/** A real loopback server that treats each connection as `behave` says. */
async function server(behave: (socket: Socket) => void): Promise<{ env: NodeJS.ProcessEnv; sockets: Socket[]; closed: Set<Socket> }> {
  const sockets: Socket[] = [];
  const closed = new Set<Socket>();
  const listener = createServer((socket) => {
    sockets.push(socket);
    accepted.push(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => closed.add(socket));
    socket.resume();
    behave(socket);
  });
  servers.push(listener);
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as { port: number };
  return { env: { PARENTDEATH_ADDR: `127.0.0.1:${port}`, PARENTDEATH_SESSION: token }, sockets, closed };
}

afterEach(async () => {
  unsubscribe('net.client.socket', onClientSocket);
  clients.length = 0;
  for (const socket of accepted.splice(0)) socket.destroy();
  for (const listener of servers.splice(0)) await new Promise((resolve) => listener.close(resolve));
});

function recorder() {
  const reasons: ParentDeathReason[] = [];
  const calls: number[] = [];
  const callback = (reason: ParentDeathReason) => {
    reasons.push(reason);
    calls.push(performance.now());
  };
  return { reasons, calls, callback };
}

describe('monitor against a real parent-like server', () => {
  it('verifies the token, then calls back exactly once when the connection ends', async () => {
    const { env, sockets } = await server((socket) => socket.write(`${token}\n`));
    const { reasons, callback } = recorder();
    const watch = await monitor(callback, { env });
    expect(watch?.active).toBe(true);
    expect(reasons).toEqual([]);
    sockets[0]?.destroy();
    await waitFor(() => reasons.length > 0, { message: 'the callback after the connection ended' });
    // Once its socket has closed, the monitor has had every event it could call back on.
    await deadline(onlyClient().closed, 5000, "the monitor's socket to close");
    expect(reasons).toEqual(['disconnected']);
    expect(watch?.reason).toBe('disconnected');
    expect(watch?.active).toBe(false);
  });

  it('accepts the token split over several writes', async () => {
    const { env, sockets } = await server((socket) => socket.write(token.slice(0, 10)));
    const { reasons, callback } = recorder();
    const watching = monitor(callback, { env });
    // The rest only once the monitor has read the first part: two reads, whatever the timing.
    await deadline(onlyClient().firstChunk, 5000, 'the monitor to read the first part');
    sockets[0]?.write(`${token.slice(10)}\n`);
    const watch = await watching;
    expect(watch?.verified).toBe(true);
    expect(watch?.reason).toBeUndefined();
    sockets[0]?.end();
    await waitFor(() => reasons.length > 0, { message: 'the callback' });
    expect(reasons).toEqual(['disconnected']);
  });

  it.each<[string, (socket: Socket) => void, ParentDeathReason]>([
    ['a wrong token (an impostor on a reused port)', (socket) => socket.write(`${'0'.repeat(64)}\n`), 'token-mismatch'],
    ['a token that is a prefix of ours', (socket) => socket.write(`${token.slice(0, 63)}\n`), 'token-mismatch'],
    ['an oversized line', (socket) => socket.write(Buffer.alloc(1 << 20, 0x41)), 'token-mismatch'],
    ['a connection closed before the token', (socket) => socket.end(token.slice(0, 20)), 'closed-before-token'],
    ['a connection reset at once', (socket) => socket.resetAndDestroy(), 'closed-before-token'],
  ])('presumes the parent dead at once on %s', async (_, behave, expected) => {
    const { env } = await server(behave);
    const { reasons, callback } = recorder();
    const started = performance.now();
    const watch = await monitor(callback, { env, handshakeTimeout: 10_000 });
    expect(reasons).toEqual([expected]);
    expect(watch?.reason).toBe(expected);
    // Decided by what arrived, not by the handshake timeout.
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('presumes the parent dead when nothing listens any more', async () => {
    const { env } = await server(() => undefined);
    const listener = servers.pop() as Server;
    await new Promise((resolve) => listener.close(resolve));
    const { reasons, callback } = recorder();
    const watch = await monitor(callback, { env });
    expect(reasons).toEqual(['refused']);
    expect(watch?.reason).toBe('refused');
  });

  it('presumes the parent dead at the deadline when a line began but never ended', async () => {
    const { env } = await server((socket) => {
      let index = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || index > token.length) clearInterval(timer);
        else socket.write(`${token}\n`.charAt(index++));
      }, 20);
    });
    const { reasons, callback } = recorder();
    const started = performance.now();
    await monitor(callback, { env, handshakeTimeout: 300 });
    const elapsed = performance.now() - started;
    expect(reasons).toEqual(['handshake-timeout']);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3000);
  });

  it('does not presume a connected but silent parent dead: resolves unverified at the deadline, then verifies late', async () => {
    const { env, sockets } = await server(() => undefined);
    const { reasons, callback } = recorder();
    const started = performance.now();
    const watch = await monitor(callback, { env, handshakeTimeout: 300 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(reasons).toEqual([]);
    expect(watch).toMatchObject({ active: true, verified: false, reason: undefined });
    // The busy parent gets round to greeting its child.
    sockets[0]?.write(`${token}\n`);
    await waitFor(() => watch?.verified, { message: 'the late token to be verified' });
    expect(reasons).toEqual([]);
    sockets[0]?.destroy();
    await waitFor(() => reasons.length > 0, { message: 'the callback after the connection ended' });
    expect(reasons).toEqual(['disconnected']);
  });

  it.each<[string, (socket: Socket) => void, ParentDeathReason]>([
    ['closes', (socket) => socket.destroy(), 'closed-before-token'],
    ['sends a wrong token', (socket) => socket.write(`${'0'.repeat(64)}\n`), 'token-mismatch'],
    ['begins a line and never ends it', (socket) => socket.write(token.slice(0, 8)), 'handshake-timeout'],
  ])('presumes a silent parent dead once it later %s', async (_, behave, expected) => {
    const { env, sockets } = await server(() => undefined);
    const { reasons, callback } = recorder();
    const watch = await monitor(callback, { env, handshakeTimeout: 200 });
    expect(watch?.verified).toBe(false);
    expect(reasons).toEqual([]);
    behave(sockets[0] as Socket);
    await waitFor(() => reasons.length > 0, { message: `the callback with ${expected}` });
    expect(reasons).toEqual([expected]);
    expect(watch).toMatchObject({ active: false, reason: expected });
  });

  it('stops without calling back: stop(), dispose and AbortSignal', async () => {
    const { env, sockets, closed } = await server((socket) => socket.write(`${token}\n`));
    const { reasons, callback } = recorder();
    const stopped = await monitor(callback, { env });
    stopped?.stop();
    stopped?.stop();
    {
      using _disposed = await monitor(callback, { env });
    }
    const controller = new AbortController();
    await monitor(callback, { env, signal: controller.signal });
    controller.abort();
    // The server sees all three connections end, and nobody was told the parent died.
    await waitFor(() => sockets.length === 3 && closed.size === 3, {
      message: 'the three watches to close their connections',
    });
    // Each monitor has had every event it could call back on once its own socket has closed.
    expect(clients).toHaveLength(3);
    await deadline(Promise.all(clients.map((client) => client.closed)), 5000, "the monitors' sockets to close");
    expect(reasons).toEqual([]);
  });
});
