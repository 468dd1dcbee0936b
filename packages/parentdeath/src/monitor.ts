import type { Socket } from 'node:net';
import { debug } from './debug.js';
import { MAX_TOKEN_LENGTH, readParentEnv, type ParentAddress } from './env.js';
import { resolveMonitorOptions, type MonitorOptions } from './options.js';
import { inheritedParentEnv } from './parent.js';
import { tokensEqual } from './token.js';

/**
 * Why the parent is considered dead:
 * - `disconnected`: the verified connection ended (the parent exited, crashed or was killed);
 * - `refused`: nothing listens at PARENTDEATH_ADDR any more;
 * - `unreachable`: connecting failed otherwise (no route, out of file descriptors, ...);
 * - `token-mismatch`: something listens there, but it is not our parent (the port was reused);
 * - `closed-before-token`: the connection ended (or was reset) before a whole token line arrived;
 * - `handshake-timeout`: a line began but did not end within the handshake timeout (a parent writes
 *   its token and newline at once; only an impostor trickles).
 *
 * A connection that is open but silent is never a death: a parent whose event loop is busy (a long
 * spawnSync) greets its children late, and a dead parent's port refuses or closes.
 */
export type ParentDeathReason =
  | 'disconnected'
  | 'refused'
  | 'unreachable'
  | 'token-mismatch'
  | 'closed-before-token'
  | 'handshake-timeout';

export type OnParentDeath = (reason: ParentDeathReason) => unknown;

export type { MonitorOptions } from './options.js';

/** A running watch of the parent. */
export interface Monitor extends Disposable {
  /** `host:port` being watched. */
  readonly addr: string;
  /** Why the parent was presumed dead, once it was; undefined while it lives or after stop(). */
  readonly reason: ParentDeathReason | undefined;
  /** Whether the callback still can run (not fired, not stopped). */
  readonly active: boolean;
  /**
   * Whether the parent's token was read and matched. False while a connected parent has not greeted
   * yet (its event loop is busy): the parent counts as alive until it refuses, closes, or sends a wrong
   * line.
   */
  readonly verified: boolean;
  /** Stops watching without calling the callback. Idempotent. */
  stop(): void;
}

/**
 * Watches the parent named by PARENTDEATH_ADDR/PARENTDEATH_SESSION and calls `onParentDeath(reason)`
 * exactly once when it dies: connects to the parent's loopback listener, reads one line and compares
 * it with the session token in constant time, then waits for the connection to end.
 *
 * Resolves undefined when neither variable is set (nothing to watch). Rejects with
 * ParentDeathEnvError (`ERR_PARENTDEATH_BAD_ENV`) when they are set but malformed, and with
 * ParentDeathOptionError (`ERR_PARENTDEATH_BAD_OPTION`) for a handshakeTimeout out of range. When the
 * parent is already gone (refused, closed, wrong token) the callback runs at once and the returned
 * monitor already carries the reason. A parent that is connected but silent past `handshakeTimeout`
 * (its event loop is busy) is not presumed dead: monitor() resolves with `verified: false` and keeps
 * checking. Never keeps the process alive once resolved. An error thrown by the callback is rethrown
 * as an uncaught exception, never swallowed.
 */
export async function monitor(onParentDeath: OnParentDeath, options: MonitorOptions = {}): Promise<Monitor | undefined> {
  if (typeof onParentDeath !== 'function') throw new TypeError('monitor(onParentDeath) needs a callback function');
  const { handshakeTimeout, signal, env: given } = resolveMonitorOptions(options);
  signal?.throwIfAborted();
  // After this process called beParent() itself, process.env names its own listener; watch the one it inherited.
  const env = given ?? inheritedParentEnv() ?? process.env;
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
  verified = false;
  private settled = false;
  private socket: Socket | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
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

  /**
   * Resolves once the token is verified, the parent is presumed dead, or `timeout` ms have passed with
   * the parent connected (or still connecting) but silent; never rejects. In the last case the check
   * goes on in the background, keeping nothing alive.
   */
  handshake(connect: typeof import('node:net').connect, timeout: number): Promise<void> {
    return new Promise((resolve) => {
      const { host, port, session } = this.parent;
      const socket = connect({ host, port, noDelay: true });
      this.socket = socket;
      let received = Buffer.alloc(0);
      let connected = false;
      let waitedOut = false;
      socket.once('connect', () => {
        connected = true;
      });
      const finish = (reason: ParentDeathReason | undefined) => {
        this.clearTimers();
        resolve();
        if (reason !== undefined) this.fire(reason);
      };
      // A begun line gets `timeout` ms to end: our parents send the token and its newline in one write.
      const lineDeadline = () => setTimeout(() => {
        finish('handshake-timeout');
      }, timeout);
      this.timers.push(
        setTimeout(() => {
          if (received.length > 0) {
            finish('handshake-timeout');
            return;
          }
          // Silent but not refused: the parent lives and its event loop is busy. Keep waiting for the
          // token, without holding up the caller or keeping the process alive.
          waitedOut = true;
          debug('no token from %s within %d ms; still waiting (a busy parent is not a dead one)', this.addr, timeout);
          socket.unref();
          resolve();
        }, timeout),
      );
      socket.on('data', (chunk: Buffer) => {
        if (this.verified) return;
        const first = received.length === 0;
        received = Buffer.concat([received, chunk]);
        const newline = received.indexOf(0x0a);
        if (newline < 0) {
          // A line longer than any token we accept cannot be ours: decide now, not at the timeout.
          if (received.length > MAX_TOKEN_LENGTH + 1) finish('token-mismatch');
          else if (first && waitedOut) this.timers.push(lineDeadline().unref());
          return;
        }
        if (!tokensEqual(received.subarray(0, newline), session)) {
          finish('token-mismatch');
          return;
        }
        this.verified = true;
        // From here on only the connection's end matters, and it must not keep the process alive.
        socket.unref();
        debug('watching parent at %s', this.addr);
        finish(undefined);
      });
      socket.on('error', (error: NodeJS.ErrnoException) => {
        debug('connection to %s: %s', this.addr, error.code ?? error.message);
        if (this.verified) this.fire('disconnected');
        // A reset can surface as the connect's own error: something accepted us, then hung up.
        else if (connected || error.code === 'ECONNRESET' || error.code === 'EPIPE') finish('closed-before-token');
        else finish(error.code === 'ECONNREFUSED' ? 'refused' : 'unreachable');
      });
      // 'end' (the parent's FIN) comes a few ticks before 'close'; either one settles it.
      const ended = () => {
        if (this.verified) this.fire('disconnected');
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
    this.clearTimers();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.socket?.destroy();
  }

  private clearTimers(): void {
    for (const timer of this.timers.splice(0)) clearTimeout(timer);
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
