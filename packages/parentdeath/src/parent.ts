import type { Server, Socket } from 'node:net';
import { debug } from './debug.js';
import { ADDR_VARIABLE, SESSION_VARIABLE } from './env.js';
import { ParentDeathOptionError } from './errors.js';
import { resolveParentOptions, type BeParentOptions } from './options.js';
import { newToken } from './token.js';

export type { BeParentOptions } from './options.js';

/** The running parent-death listener. */
export interface ParentInfo {
  /** Exactly the variables to add to an explicit `env` of a child: `{ PARENTDEATH_ADDR, PARENTDEATH_SESSION }`. */
  readonly env: Readonly<Record<typeof ADDR_VARIABLE | typeof SESSION_VARIABLE, string>>;
  /** `host:port` of the loopback listener. */
  readonly addr: string;
  /** The session token children must read back. */
  readonly session: string;
  /** Children currently watching. */
  readonly connections: number;
  /**
   * Stops listening, ends every held connection (children see that as this parent's death) and
   * removes the two variables from process.env. A later beParent() starts afresh.
   */
  close(): Promise<void>;
}

interface Running {
  readonly info: Promise<ParentInfo>;
  /** The variables this process inherited from its own parent, which beParent() replaced. */
  readonly inherited: { addr: string | undefined; session: string | undefined };
  readonly session: string;
}

let running: Running | undefined;

/** What PARENTDEATH_* held before beParent() replaced them: the watch of our own parent. */
export function inheritedParentEnv(): NodeJS.ProcessEnv | undefined {
  if (running === undefined || process.env[SESSION_VARIABLE] !== running.session) return undefined;
  const { addr, session } = running.inherited;
  return { [ADDR_VARIABLE]: addr, [SESSION_VARIABLE]: session };
}

/**
 * Makes this process a parent that its children can watch: listens on loopback TCP (127.0.0.1, or ::1
 * where IPv4 loopback is unavailable), sets PARENTDEATH_ADDR and PARENTDEATH_SESSION in process.env so
 * that every child inherits them, and on each connection writes the session token and a newline, then
 * holds the connection open for as long as this process lives. When it dies — however it dies — the
 * kernel closes those connections and every child's monitor() fires.
 *
 * Await it before starting children: Node cannot listen synchronously, so the address is known only
 * when the promise resolves. Until then process.env carries the new session without an address: a
 * child started in between fails loudly in its monitor() (ERR_PARENTDEATH_BAD_ENV) instead of running
 * unwatched, or watching the wrong process, and this process emits a ParentDeathWarning.
 *
 * Idempotent: later calls resolve the same listener. Keeps nothing alive: the listener and connections
 * are unref'd. Wire-compatible with the Go package parentdeath.
 */
export function beParent(options: BeParentOptions = {}): Promise<ParentInfo> {
  if (running !== undefined) return running.info;
  let maxConnections: number;
  try {
    ({ maxConnections } = resolveParentOptions(options));
  } catch (error) {
    // Out-of-range options reject the promise rather than throw, as every other failure of beParent() does.
    if (error instanceof ParentDeathOptionError) return Promise.reject(error);
    throw error;
  }
  const session = newToken();
  const inherited = { addr: process.env[ADDR_VARIABLE], session: process.env[SESSION_VARIABLE] };
  // At once, before the first await: a child started too early must not inherit our own parent's
  // address (it would watch the wrong process) nor nothing at all (it would run unwatched, silently).
  process.env[SESSION_VARIABLE] = session;
  Reflect.deleteProperty(process.env, ADDR_VARIABLE);
  const stopWarning = warnOnEarlySpawns();
  const state: Running = {
    session,
    inherited,
    info: listen(session, inherited, maxConnections).then(
      (info) => {
        stopWarning();
        return info;
      },
      (error: unknown) => {
        stopWarning();
        running = undefined;
        if (process.env[SESSION_VARIABLE] === session) {
          restore(ADDR_VARIABLE, inherited.addr);
          restore(SESSION_VARIABLE, inherited.session);
        }
        throw error;
      },
    ),
  };
  running = state;
  return state.info;
}

/**
 * Until the returned function is called, warns (once) when child_process starts a child on this
 * thread: that child got the session but no address. Returns the function that stops watching.
 */
function warnOnEarlySpawns(): () => void {
  const { subscribe, unsubscribe } = process.getBuiltinModule('node:diagnostics_channel');
  const onSpawn = () => {
    unsubscribe('child_process', onSpawn);
    debug('a child process was started before beParent() resolved');
    process.emitWarning(
      'a child process was started before beParent() resolved, so it has no PARENTDEATH_ADDR and cannot watch this process (its monitor() rejects with ERR_PARENTDEATH_BAD_ENV). Await beParent() before starting children.',
      { type: 'ParentDeathWarning', code: 'PARENTDEATH_EARLY_SPAWN' },
    );
  };
  subscribe('child_process', onSpawn);
  return () => {
    unsubscribe('child_process', onSpawn);
  };
}

async function listen(session: string, inherited: Running['inherited'], maxConnections: number): Promise<ParentInfo> {
  const held = new Set<Socket>();
  const greeting = Buffer.from(`${session}\n`);
  // Loaded on first use: importing this package stays cheap for programs that never call beParent().
  const { createServer } = process.getBuiltinModule('node:net');
  const server = createServer({ pauseOnConnect: false, noDelay: true }, (socket) => {
    socket.unref();
    if (held.size >= maxConnections) {
      debug('refusing a child: %d connections held already (maxConnections)', held.size);
      socket.destroy();
      return;
    }
    held.add(socket);
    socket.on('close', () => held.delete(socket));
    // A child never sends anything; whoever does is not one of ours and is dropped.
    socket.on('data', () => socket.destroy());
    socket.on('error', (error) => {
      debug('child connection error: %s', error.message);
    });
    socket.write(greeting);
  });
  server.on('error', (error) => {
    debug('listener error: %s', error.message);
  });
  const address = await bind(server);
  server.unref();
  const addr = address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
  process.env[ADDR_VARIABLE] = addr;
  process.env[SESSION_VARIABLE] = session;
  debug('listening on %s', addr);
  const env = Object.freeze({ [ADDR_VARIABLE]: addr, [SESSION_VARIABLE]: session });
  return {
    env,
    addr,
    session,
    get connections() {
      return held.size;
    },
    close: async () => {
      if (running?.session === session) running = undefined;
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      // Put back what we replaced, unless someone else has changed the variables since.
      if (process.env[SESSION_VARIABLE] === session) {
        restore(ADDR_VARIABLE, inherited.addr);
        restore(SESSION_VARIABLE, inherited.session);
      }
    },
  };
}

function restore(name: typeof ADDR_VARIABLE | typeof SESSION_VARIABLE, value: string | undefined): void {
  if (value === undefined) Reflect.deleteProperty(process.env, name);
  else process.env[name] = value;
}

async function bind(server: Server): Promise<{ address: string; family: string; port: number }> {
  try {
    return await listenOn(server, '127.0.0.1');
  } catch (error) {
    // Only where IPv4 loopback itself is missing (IPv6-only namespaces) do we fall back to ::1.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT') throw error;
    debug('127.0.0.1 unavailable (%s), listening on ::1', code);
    return listenOn(server, '::1');
  }
}

function listenOn(server: Server, host: string): Promise<{ address: string; family: string; port: number }> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      reject(error);
    };
    server.once('error', onError);
    server.listen({ host, port: 0, exclusive: true }, () => {
      server.off('error', onError);
      resolve(server.address() as { address: string; family: string; port: number });
    });
  });
}
