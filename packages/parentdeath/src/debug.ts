import type { DebugLoggerFunction } from 'node:util';

let logger: DebugLoggerFunction | undefined;

/** util.debuglog('x:parentdeath') (NODE_DEBUG=x:parentdeath), made on first use: importing stays cheap. */
export function debug(message: string, ...args: unknown[]): void {
  logger ??= process.getBuiltinModule('node:util').debuglog('x:parentdeath');
  logger(message, ...args);
}
