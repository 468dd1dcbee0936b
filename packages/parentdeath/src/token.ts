/** A new session token: 256 random bits as 64 hex characters (Web Crypto, no node:crypto load). */
export function newToken(): string {
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  return Buffer.from(bytes).toString('hex');
}

/**
 * Compares a received token with the expected one in constant time: every byte of the expected token
 * is visited whatever the input, and no early exit reveals where they first differ.
 */
export function tokensEqual(received: Uint8Array, expected: string): boolean {
  const want = Buffer.from(expected);
  let difference = received.length ^ want.length;
  for (let index = 0; index < want.length; index++) difference |= (received[index] ?? 0) ^ (want[index] ?? 0);
  return difference === 0;
}
