import { constants } from 'node:os';
import { XError } from './errors.js';

/** A signal by name ('SIGTERM', also 'TERM' or 'term') or by number. */
export type SignalLike = NodeJS.Signals | (string & {}) | number;

const byNumber = new Map<number, NodeJS.Signals>();
for (const [name, number] of Object.entries(constants.signals) as [NodeJS.Signals, number][]) {
  // Several names share a number (SIGIOT/SIGABRT, SIGPOLL/SIGIO); keep the first, the canonical one.
  if (!byNumber.has(number)) byNumber.set(number, name);
}

/** Thrown for a signal name or number this platform does not have. */
export class InvalidSignalError extends XError {
  readonly signal: unknown;
  constructor(signal: unknown) {
    super(
      'ERR_X_INVALID_SIGNAL',
      `Unknown signal: ${String(signal)}; pass a name such as 'SIGTERM' or a number from os.constants.signals`,
    );
    this.signal = signal;
  }
}
Object.defineProperty(InvalidSignalError.prototype, 'name', { value: 'InvalidSignalError', configurable: true });

/** The number of a signal given by name ('SIGTERM', 'TERM') or number; 0 is allowed (existence probe). */
export function signalNumber(signal: SignalLike): number {
  if (typeof signal === 'number') {
    if (Number.isInteger(signal) && (signal === 0 || byNumber.has(signal))) return signal;
    throw new InvalidSignalError(signal);
  }
  if (typeof signal === 'string') {
    const upper = signal.toUpperCase();
    const name = (upper.startsWith('SIG') ? upper : `SIG${upper}`) as NodeJS.Signals;
    const number = constants.signals[name] as number | undefined;
    if (number !== undefined) return number;
  }
  throw new InvalidSignalError(signal);
}

/** The canonical name of a signal number, or undefined for 0 and unknown numbers. */
export function signalName(signal: SignalLike): NodeJS.Signals | undefined {
  return byNumber.get(signalNumber(signal));
}

/**
 * The exit code a shell (and an init such as tini) reports for a process ended by `signal`: 128 plus
 * its number, so SIGTERM gives 143. Throws InvalidSignalError for an unknown signal.
 */
export function signalExitCode(signal: SignalLike): number {
  const number = signalNumber(signal);
  if (number === 0) throw new InvalidSignalError(signal);
  return 128 + number;
}
