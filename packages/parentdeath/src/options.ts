import { ParentDeathOptionError } from './errors.js';

export interface MonitorOptions {
  /**
   * How long monitor() waits for the parent's token line, in ms: a whole number from 1 to 2^31-1
   * (default 5000). Past it, monitor() resolves anyway if the parent is connected but silent (its
   * event loop may be busy) and verifies the token whenever it arrives; a line begun but unfinished
   * by then presumes the parent dead ('handshake-timeout').
   */
  handshakeTimeout?: number;
  /** Aborting stops monitoring without calling the callback. */
  signal?: AbortSignal;
  /** Where to read PARENTDEATH_ADDR and PARENTDEATH_SESSION (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface BeParentOptions {
  /**
   * Most children watched at once (default 4096). A connection past the cap is closed at once, so that
   * child presumes its parent dead and cleans up: the failure mode is an early exit, never an orphan.
   */
  maxConnections?: number;
}

/** The longest delay setTimeout honours. */
const MAX_TIMEOUT = 2 ** 31 - 1;

// Every default of @x/parentdeath, in one place; the two functions below are their only readers.
const DEFAULTS = { handshakeTimeout: 5000, maxConnections: 4096 };

/** Checks monitor()'s options and fills in the defaults (`env` is decided by monitor() at call time). */
export function resolveMonitorOptions(options: MonitorOptions): { handshakeTimeout: number; signal: AbortSignal | undefined; env: NodeJS.ProcessEnv | undefined } {
  const handshakeTimeout = options.handshakeTimeout ?? DEFAULTS.handshakeTimeout;
  // Node runs a longer timer after 1 ms (TimeoutOverflowWarning), which would presume every parent dead.
  if (!Number.isInteger(handshakeTimeout) || handshakeTimeout < 1 || handshakeTimeout > MAX_TIMEOUT) {
    throw new ParentDeathOptionError(
      'handshakeTimeout',
      `must be a whole number of ms from 1 to ${MAX_TIMEOUT} (about 24.8 days, the longest timer Node runs), got ${String(handshakeTimeout)}`,
    );
  }
  return { handshakeTimeout, signal: options.signal, env: options.env };
}

/** Checks beParent()'s options and fills in the defaults. */
export function resolveParentOptions(options: BeParentOptions): { maxConnections: number } {
  const maxConnections = options.maxConnections ?? DEFAULTS.maxConnections;
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new ParentDeathOptionError('maxConnections', `must be a positive whole number, got ${String(maxConnections)}`);
  }
  return { maxConnections };
}
