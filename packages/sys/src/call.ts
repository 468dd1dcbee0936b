import { constants } from 'node:os';
import { SystemError } from './errors.js';
import { libc } from './libc.js';

const { EINTR } = constants.errno;

/**
 * Runs a libc call that returns -1 on failure and throws the Node-shaped SystemError for its errno.
 * Calls interrupted by a signal (EINTR) are retried: none of ours is meant to be cut short by one.
 * `path` (and `dest`, for a rename) name the call's subject in the error, as Node's fs errors do.
 */
export function check(syscall: string, call: () => number, path?: string, dest?: string): number {
  for (;;) {
    const result = call();
    if (result !== -1) return result;
    const errno = libc().errno();
    if (errno !== EINTR) throw new SystemError(errno, syscall, path, dest);
  }
}
