import { constants } from 'node:os';
import { check } from './call.js';
import { SystemError } from './errors.js';
import { libc } from './libc.js';
import { requireLinux, requirePosix } from './platform.js';

const O_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;
const { EINTR } = constants.errno;

export interface PipeOptions {
  /** Close both ends on exec (default true, so children never inherit them by accident). */
  cloexec?: boolean;
  /** Open both ends non-blocking (default false). */
  nonblock?: boolean;
}

/** Creates a pipe atomically with its flags (pipe2). Returns `[readFd, writeFd]`. Linux only. */
export function pipe(options: PipeOptions = {}): [read: number, write: number] {
  requireLinux('pipe2');
  const { cloexec = true, nonblock = false } = options;
  const fds = new Int32Array(2);
  check('pipe2', () => libc().pipe(fds, (cloexec ? O_CLOEXEC : 0) | (nonblock ? O_NONBLOCK : 0)));
  return [fds[0] ?? -1, fds[1] ?? -1];
}

/** Closes a file descriptor. Throws EBADF when it is not open. */
export function close(fd: number): void {
  requirePosix('close');
  // close() is not retried on EINTR: on Linux the fd is already gone by then.
  if (libc().close(fd) === -1) {
    const errno = libc().errno();
    if (errno !== EINTR) throw new SystemError(errno, 'close');
  }
}

const AT_SYMLINK_FOLLOW = 0x400;

/**
 * Gives a name to an open file, typically one created unnamed with O_TMPFILE, so that it appears at
 * `path` complete and at once (linkat through /proc/self/fd). Never replaces anything: throws EEXIST
 * when `path` exists (a symlink included). Linux only.
 */
export function linkOpenFile(fd: number, path: string): void {
  requireLinux('linkat');
  if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`linkOpenFile needs an open file descriptor, got ${fd}`);
  check('linkat', () => libc().linkat(`/proc/self/fd/${fd}`, path, AT_SYMLINK_FOLLOW), path);
}

const RENAME_NOREPLACE = 1;

/**
 * Renames `from` to `to` unless `to` exists (renameat2 with RENAME_NOREPLACE): throws EEXIST then, and
 * EINVAL where the file system cannot do it (fall back to link and unlink there). Unlike linking, the
 * file keeps one name, so an fd opened under `from` shows `to` in /proc/PID/fd and lsof. Linux only.
 */
export function renameNoReplace(from: string, to: string): void {
  requireLinux('renameat2');
  check('renameat2', () => libc().renameat2(from, to, RENAME_NOREPLACE), from, to);
}
