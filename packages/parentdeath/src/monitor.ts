import type { Socket } from 'node:net';
import { debug } from './debug.js';
import { MAX_TOKEN_LENGTH, readParentEnv, type ParentAddress } from './env.js';
import { inheritedParentEnv } from './parent.js';
import { tokensEqual } from './token.js';

/**
 * Why the parent is considered dead:
 * - `disconnected`: the verified connection ended (the parent exited, crashed or was killed);
 * - `refused`: nothing listens at PARENTDEATH_ADDR any more;
 * - `unreachable`: connecting failed otherwise (no route, out of file descriptors, ...);
 * - `token-mismatch`: something listens there, but it is not our parent (the port was reused);
 * - `closed-before-token`: the connection ended (or was reset) before a whole token line arrived;
 * - `handshake-timeout`: no token line arrived within the handshake timeout.
 */
export type ParentDeathReason =
  | 'disconnected'
  | 'refused'
  | 'unreachable'
  | 'token-mismatch'
  | 'closed-before-token'
  | 'handshake-timeout';

export type OnParentDeath = (reason: ParentDeathReason) => unknown;

export interface MonitorOptions {
  /** How long to wait for the parent's token line, in ms (default 5000). Past it the parent is presumed dead. */
  handshakeTimeout?: number;
  /** Aborting stops monitoring without calling the callback. */
  signal?: AbortSignal;
  /** Where to read PARENTDEATH_ADDR and PARENTDEATH_SESSION (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** A running watch of the parent. */
export interface Monitor extends Disposable {
  /** `host:port` being watched. */
  readonly addr: string;
  /** Why the parent was presumed dead, once it was; undefined while it lives or after stop(). */
  readonly reason: ParentDeathReason | undefined;
  /** Whether the callback still can run (not fired, not stopped). */
  readonly active: boolean;
  /** Stops watching without calling the callback. Idempotent. */
  stop(): void;
}

/**
 * Watches the parent named by PARENTDEATH_ADDR/PARENTDEATH_SESSION and calls `onParentDeath(reason)`
 * exactly once when it dies: connects to the parent's loopback listener, reads one line and compares
 * it with the session token in constant time, then waits for the connection to end.
 *
 * Resolves undefined when neither variable is set (nothing to watch). Rejects with
 * ParentDeathEnvError (`ERR_PARENTDEATH_BAD_ENV`) when they are set but malformed. When the parent is
 * already gone (refused, wrong token, no token in time) the callback runs at once and the returned
 * monitor already carries the reason. Never keeps the process alive once verified. An error thrown by
 * the callback is rethrown as an uncaught exception, never swallowed.
 */
export async function monitor(onParentDeath: OnParentDeath, options: MonitorOptions = {}): Promise<Monitor | undefined> {
  if (typeof onParentDeath !== 'function') throw new TypeError('monitor(onParentDeath) needs a callback function');
  const { handshakeTimeout = 5000, signal } = options;
  if (!Number.isFinite(handshakeTimeout) || handshakeTimeout <= 0) {
    throw new RangeError(`handshakeTimeout must be a positive number of ms, got ${handshakeTimeout}`);
  }
  signal?.throwIfAborted();
  // After this process called beParent() itself, process.env names its own listener; watch the one it inherited.
  const env = options.env ?? inheritedParentEnv() ?? process.env;
  const parent = readParentEnv(env);
  if (parent === undefined) return undefined;
  // Loaded on first use: importing this package stays cheap for programs that never call monitor().
  const { connect } = process.getBuiltinModule('node:net');
  const watch = new Watch(parent, onParentDeath, signal);
  await watch.handshake(connect, handshakeTimeout);
  return watch;
}

class Watch implements Monitor {
  readonly addr: string;
  reason: ParentDeathReason | undefined;
  private settled = false;
  private socket: Socket | undefined;
  private readonly onAbort = () => {
    this.stop();
  };

  constructor(
    private readonly parent: ParentAddress,
    private readonly callback: OnParentDeath,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.addr = parent.addr;
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get active(): boolean {
    return !this.settled;
  }

  /** Resolves once the token is verified or the parent is presumed dead; never rejects. */
  handshake(connect: typeof import('node:net').connect, timeout: number): Promise<void> {
    return new Promise((resolve) => {
      const { host, port, session } = this.parent;
      const socket = connect({ host, port, noDelay: true });
      this.socket = socket;
      let received = Buffer.alloc(0);
      let connected = false;
      let verified = false;
      socket.once('connect', () => {
        connected = true;
      });
      const timer = setTimeout(() => {
        finish('handshake-timeout');
      }, timeout);
      const finish = (reason: ParentDeathReason | undefined) => {
        clearTimeout(timer);
        resolve();
        if (reason !== undefined) this.fire(reason);
      };
      socket.on('data', (chunk: Buffer) => {
        if (verified) return;
        received = Buffer.concat([received, chunk]);
        const newline = received.indexOf(0x0a);
        if (newline < 0) {
          // A line longer than any token we accept cannot be ours: decide now, not at the timeout.
          if (received.length > MAX_TOKEN_LENGTH + 1) finish('token-mismatch');
          return;
        }
        if (!tokensEqual(received.subarray(0, newline), session)) {
          finish('token-mismatch');
          return;
        }
        verified = true;
        // From here on only the connection's end matters, and it must not keep the process alive.
        socket.unref();
        debug('watching parent at %s', this.addr);
        finish(undefined);
      });
      socket.on('error', (error: NodeJS.ErrnoException) => {
        debug('connection to %s: %s', this.addr, error.code ?? error.message);
        if (verified) this.fire('disconnected');
        // A reset can surface as the connect's own error: something accepted us, then hung up.
        else if (connected || error.code === 'ECONNRESET' || error.code === 'EPIPE') finish('closed-before-token');
        else finish(error.code === 'ECONNREFUSED' ? 'refused' : 'unreachable');
      });
      // 'end' (the parent's FIN) comes a few ticks before 'close'; either one settles it.
      const ended = () => {
        if (verified) this.fire('disconnected');
        else finish('closed-before-token');
      };
      socket.on('end', ended);
      socket.on('close', ended);
    });
  }

  stop(): void {
    if (this.settled) return;
    this.settled = true;
    this.release();
  }

  [Symbol.dispose](): void {
    this.stop();
  }

  private release(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.socket?.destroy();
  }

  private fire(reason: ParentDeathReason): void {
    if (this.settled) return;
    this.settled = true;
    this.reason = reason;
    this.release();
    debug('parent presumed dead: %s', reason);
    let result: unknown;
    try {
      result = this.callback(reason);
    } catch (error) {
      // Surfaced as an uncaught exception (process 'uncaughtException'), like any Node callback's throw.
      process.nextTick(() => {
        throw error;
      });
      return;
    }
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        process.nextTick(() => {
          throw error;
        });
      });
    }
  }
}
