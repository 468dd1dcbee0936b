import { constants } from 'node:os';
import { check } from './call.js';
import { libc } from './libc.js';
import { requirePosix } from './platform.js';

// Node ignores these; an ignored disposition survives exec, so the new program would inherit it.
const IGNORED_BY_NODE = [constants.signals.SIGPIPE, constants.signals.SIGXFSZ];
const FD_CLOEXEC = 1;
const STDIO = [0, 1, 2];

/**
 * Replaces this process with `file` (looked up in PATH like a shell does), passing `args` as argv[1..].
 * It never returns on success. Before exec it restores the default disposition of the signals Node
 * ignores (SIGPIPE, SIGXFSZ), unblocks all signals and keeps stdin, stdout and stderr open across the
 * exec (Node opens them close-on-exec), so the program starts as if spawned by a shell.
 * Meant for tiny exec shims: pending work of this process (timers, unflushed streams) is discarded.
 * Throws ENOENT, EACCES, ENOEXEC, E2BIG like the exec family.
 */
export function execvp(file: string, args: readonly string[] = []): never {
  requirePosix('execvp');
  if (file.length === 0 || file.includes('\0')) throw new TypeError('execvp needs a non-empty file name without NUL bytes');
  for (const arg of args) {
    if (arg.includes('\0')) throw new TypeError('execvp arguments must not contain NUL bytes');
  }
  const c = libc();
  // SIG_DFL is the null handler; an all-zero sigset_t (128 bytes covers glibc, musl and macOS) blocks nothing.
  const previous = IGNORED_BY_NODE.map((signal) => c.setSignalHandler(signal, null));
  const previousMask = new Uint8Array(128);
  c.setSignalMask(new Uint8Array(128), previousMask);
  const fdFlags = STDIO.map((fd) => c.getFdFlags(fd));
  STDIO.forEach((fd, index) => {
    const flags = fdFlags[index] ?? -1;
    if (flags >= 0) c.setFdFlags(fd, flags & ~FD_CLOEXEC);
  });
  try {
    check('execvp', () => c.execvp(file, [file, ...args, null]), file);
  } finally {
    // Only reached when exec failed: this process goes on as Node, so put Node's setup back.
    STDIO.forEach((fd, index) => {
      const flags = fdFlags[index] ?? -1;
      if (flags >= 0) c.setFdFlags(fd, flags);
    });
    c.setSignalMask(previousMask, null);
    IGNORED_BY_NODE.forEach((signal, index) => c.setSignalHandler(signal, previous[index]));
  }
  throw new Error('unreachable: execvp returned without an error');
}
