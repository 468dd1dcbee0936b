import { constants } from 'node:os';

/**
 * A failed system call, shaped like Node's own system errors: `code` ('ESRCH'), `errno` (negative,
 * as in Node: `-os.constants.errno.ESRCH`), `syscall`, and the message `"<syscall> <CODE>"`, followed by
 * the file it was about (`path`, and `dest` for a rename) when there is one.
 */
export class SystemError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path?: string;
  readonly dest?: string;

  constructor(errno: number, syscall: string, path?: string, dest?: string) {
    const positive = Math.abs(errno);
    const code = errnoName(positive);
    const subject = path === undefined ? '' : dest === undefined ? ` '${path}'` : ` '${path}' -> '${dest}'`;
    super(`${syscall} ${code}${subject}`);
    this.code = code;
    this.errno = -positive;
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
    if (dest !== undefined) this.dest = dest;
  }
}

const errnoNames = new Map<number, string>();
for (const [name, number] of Object.entries(constants.errno)) {
  // EWOULDBLOCK/EAGAIN and EDEADLOCK/EDEADLK share numbers; the first listed is the usual name.
  if (!errnoNames.has(number)) errnoNames.set(number, name);
}

// An errno Node has no name for still gets a stable, searchable code.
const errnoName = (positive: number) => errnoNames.get(positive) ?? `E${positive}`;

// Names live on the prototype, as Node's own errors have them: not an own, enumerable property, so
// util.inspect and toEqual show only the fields that matter.
Object.defineProperty(SystemError.prototype, 'name', { value: 'SystemError', writable: true, configurable: true });

/**
 * Base of every library error of @x: a stable `ERR_*` code and, where there is one, a `cause`. Every
 * package's error class extends it, except @x/parentdeath's, which has no dependencies by design.
 */
export class XError<Code extends `ERR_${string}` = `ERR_${string}`> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
// Each class of the family names itself on its own prototype, as here: not an enumerable own field, and
// unlike constructor.name it survives minification.
Object.defineProperty(XError.prototype, 'name', { value: 'XError', configurable: true });

/** Thrown when a Linux-only feature is called on another platform. */
export class UnsupportedPlatformError extends XError<'ERR_X_UNSUPPORTED_PLATFORM'> {
  readonly feature: string;
  constructor(feature: string, platforms = 'Linux') {
    super(
      'ERR_X_UNSUPPORTED_PLATFORM',
      `${feature} is only available on ${platforms} (this is ${process.platform}); check capabilities() before calling it`,
    );
    this.feature = feature;
  }
}
Object.defineProperty(UnsupportedPlatformError.prototype, 'name', { value: 'UnsupportedPlatformError', configurable: true });
