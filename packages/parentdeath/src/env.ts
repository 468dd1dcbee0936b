import { ParentDeathEnvError } from './errors.js';

export const ADDR_VARIABLE = 'PARENTDEATH_ADDR';
export const SESSION_VARIABLE = 'PARENTDEATH_SESSION';

/** Longest session token accepted from the environment (ours are 64 characters). */
export const MAX_TOKEN_LENGTH = 512;

export interface ParentAddress {
  /** `host:port` as found in the environment. */
  readonly addr: string;
  readonly host: string;
  readonly port: number;
  readonly session: string;
}

/**
 * Splits `host:port` (`[v6]:port` for IPv6, as Go's net.JoinHostPort writes it) and checks that the host
 * is a loopback address: the protocol never leaves this machine.
 */
export function parseAddress(value: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\]:([^:]*)$/.exec(value);
  const plain = /^([^:[\]]+):([^:]*)$/.exec(value);
  const match = bracketed ?? plain;
  if (match === null) throw new ParentDeathEnvError(ADDR_VARIABLE, `must be host:port, got ${JSON.stringify(value)}`);
  const host = match[1] as string;
  const portText = match[2] as string;
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new ParentDeathEnvError(ADDR_VARIABLE, `has no valid port (1-65535) in ${JSON.stringify(value)}`);
  }
  if (!isLoopback(host)) {
    throw new ParentDeathEnvError(ADDR_VARIABLE, `must name a loopback address (127.0.0.0/8, ::1 or localhost), got ${JSON.stringify(host)}`);
  }
  return { host, port: Number(portText) };
}

// 127.0.0.0/8 as a dotted quad; written out so that importing this package does not load node:net.
const IPV4_LOOPBACK = /^127(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '0:0:0:0:0:0:0:1' || IPV4_LOOPBACK.test(host);
}

/**
 * Reads the parent's address and session token from `env`. Returns undefined when neither variable is
 * set (not started by a parentdeath-aware parent); throws ParentDeathEnvError when either is set but unusable.
 */
export function readParentEnv(env: NodeJS.ProcessEnv): ParentAddress | undefined {
  const addr = env[ADDR_VARIABLE];
  const session = env[SESSION_VARIABLE];
  if (addr === undefined && session === undefined) return undefined;
  if (addr === undefined) {
    throw new ParentDeathEnvError(
      ADDR_VARIABLE,
      `is missing while ${SESSION_VARIABLE} is set: the parent most likely started this process before its beParent() had resolved (it must await beParent() before spawning)`,
    );
  }
  if (session === undefined) throw new ParentDeathEnvError(SESSION_VARIABLE, `is missing while ${ADDR_VARIABLE} is set`);
  const { host, port } = parseAddress(addr);
  if (session.length === 0) throw new ParentDeathEnvError(SESSION_VARIABLE, 'is empty');
  if (session.length > MAX_TOKEN_LENGTH) throw new ParentDeathEnvError(SESSION_VARIABLE, `is longer than ${MAX_TOKEN_LENGTH} characters`);
  // The token travels as one line: no whitespace or control characters can be part of it.
  if (!/^[\x21-\x7e]+$/.test(session)) throw new ParentDeathEnvError(SESSION_VARIABLE, 'must be printable ASCII without spaces');
  return { addr, host, port, session };
}
