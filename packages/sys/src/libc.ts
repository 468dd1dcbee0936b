import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';
import { XError } from './errors.js';

// The whole FFI surface of @x, declared once. Loaded on first use so that importing @x/sys (and the
// packages above it) costs nothing until a syscall is actually made.

export interface Libc {
  readonly errno: () => number;
  readonly waitpid: (pid: number, status: Int32Array, options: number) => number;
  readonly waitid: (idtype: number, id: number, info: Uint8Array, options: number) => number;
  readonly prctlSet: (option: number, value: number) => number;
  readonly prctlGet: (option: number, out: Int32Array) => number;
  readonly flock: (fd: number, operation: number) => number;
  readonly pipe: (fds: Int32Array, flags: number) => number;
  readonly close: (fd: number) => number;
  readonly pidfdOpen: (pid: number, flags: number) => number;
  readonly pidfdSendSignal: (pidfd: number, signal: number) => number;
  readonly setsid: () => number;
  readonly getpgid: (pid: number) => number;
  readonly getsid: (pid: number) => number;
  readonly getppid: () => number;
  readonly execvp: (file: string, argv: (string | null)[]) => number;
  /** signal(2): installs `handler` (null is SIG_DFL) and returns the previous one, opaque. */
  readonly setSignalHandler: (signal: number, handler: unknown) => unknown;
  /** sigprocmask(SIG_SETMASK): installs `mask` (a sigset_t buffer) and saves the previous one in `old`. */
  readonly setSignalMask: (mask: Uint8Array, old: Uint8Array | null) => number;
  readonly sysconf: (name: number) => number;
  readonly linkat: (oldPath: string, newPath: string, flags: number) => number;
  readonly renameat2: (oldPath: string, newPath: string, flags: number) => number;
  readonly socket: (domain: number, type: number, protocol: number) => number;
  readonly bind: (fd: number, address: Uint8Array, length: number) => number;
  readonly sendto: (fd: number, data: Uint8Array, length: number, flags: number, address: Uint8Array, addressLength: number) => number;
  readonly recv: (fd: number, buffer: Uint8Array, length: number, flags: number) => number;
  readonly getFdFlags: (fd: number) => number;
  readonly setFdFlags: (fd: number, flags: number) => number;
}

// x86_64 and aarch64 share these syscall numbers (the asm-generic table, 424+ is common to all).
const SYS_pidfd_send_signal = 424;
const SYS_pidfd_open = 434;
// renameat2 predates the common table: x86_64 and aarch64 number it differently.
const SYS_renameat2 = process.arch === 'arm64' ? 276 : 316;
const SIG_SETMASK = 2;
const F_GETFD = 1;
const AT_FDCWD = -100;
const F_SETFD = 2;

let loaded: Libc | undefined;

/** The bound libc functions; the first call loads koffi and the C library. */
export function libc(): Libc {
  loaded ??= bind();
  return loaded;
}

/** The C libraries tried, in order: glibc's soname, then musl's (Alpine), then a bare libc.so; libSystem on macOS. */
export function libcCandidates(): string[] {
  return process.platform === 'darwin'
    ? ['/usr/lib/libSystem.B.dylib']
    : ['libc.so.6', `libc.musl-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.so.1`, 'libc.so'];
}

function loadLibrary(koffi: typeof Koffi): Koffi.LibraryHandle {
  const candidates = libcCandidates();
  let last: unknown;
  for (const name of candidates) {
    try {
      return koffi.load(name);
    } catch (error) {
      last = error;
    }
  }
  throw new XError(
    'ERR_X_NO_C_LIBRARY',
    `cannot load the C library (tried ${candidates.join(', ')}); @x needs glibc, musl or macOS's libSystem — on a minimal image, install the C library (e.g. libc6 or musl)`,
    { cause: last },
  );
}

function bind(): Libc {
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof Koffi;
  const lib = loadLibrary(koffi);
  // Each function is looked up on its first call: a symbol this C library lacks (prctl on macOS) then
  // fails only the call that needs it, never every other one.
  const fn = (definition: string) => {
    let bound: ((...args: unknown[]) => number) | undefined;
    return (...args: unknown[]) => {
      bound ??= lib.func(definition) as (...args: unknown[]) => number;
      return bound(...args);
    };
  };

  const waitpid = fn('int waitpid(int pid, int *status, int options)');
  const waitid = fn('int waitid(int idtype, int id, _Out_ uint8_t *info, int options)');
  const flock = fn('int flock(int fd, int operation)');
  const close = fn('int close(int fd)');
  const setsid = fn('int setsid(void)');
  const getpgid = fn('int getpgid(int pid)');
  const getsid = fn('int getsid(int pid)');
  const getppid = fn('int getppid(void)');
  const execvp = fn('int execvp(const char *file, const char **argv)');
  const signal = fn('void *signal(int signum, void *handler)') as unknown as (sig: number, handler: unknown) => unknown;
  const sigprocmask = fn('int sigprocmask(int how, const uint8_t *set, _Out_ uint8_t *oldset)');
  const sysconf = fn('long sysconf(int name)');
  const fcntl = fn('int fcntl(int fd, int cmd, ...)');
  const linkat = fn('int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)');
  const socket = fn('int socket(int domain, int type, int protocol)');
  const bind = fn('int bind(int fd, const uint8_t *address, uint32_t length)');
  const sendto = fn('long sendto(int fd, const uint8_t *data, size_t length, int flags, const uint8_t *address, uint32_t addressLength)');
  const recv = fn('long recv(int fd, _Out_ uint8_t *buffer, size_t length, int flags)');
  const linux = process.platform === 'linux';
  // Linux-only: never bound elsewhere, whatever the C library offers.
  const prctl = linux ? fn('int prctl(int option, ...)') : undefined;
  const pipe2 = linux ? fn('int pipe2(int *fds, int flags)') : undefined;
  const syscall = linux ? fn('long syscall(long number, ...)') : undefined;

  const unsupported = () => {
    throw new Error('unreachable: Linux-only call bound on another platform');
  };

  return {
    errno: () => koffi.errno(),
    waitpid: (pid, status, options) => waitpid(pid, status, options),
    waitid: (idtype, id, info, options) => waitid(idtype, id, info, options),
    prctlSet: (option, value) =>
      (prctl ?? unsupported)(option, 'unsigned long', value, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0),
    prctlGet: (option, out) => (prctl ?? unsupported)(option, 'int *', out),
    flock: (fd, operation) => flock(fd, operation),
    pipe: (fds, flags) => (pipe2 ?? unsupported)(fds, flags),
    close: (fd) => close(fd),
    pidfdOpen: (pid, flags) => (syscall ?? unsupported)(SYS_pidfd_open, 'int', pid, 'unsigned int', flags),
    pidfdSendSignal: (pidfd, sig) =>
      (syscall ?? unsupported)(SYS_pidfd_send_signal, 'int', pidfd, 'int', sig, 'void *', null, 'unsigned int', 0),
    setsid: () => setsid(),
    getpgid: (pid) => getpgid(pid),
    getsid: (pid) => getsid(pid),
    getppid: () => getppid(),
    execvp: (file, argv) => execvp(file, argv),
    setSignalHandler: (sig, handler) => signal(sig, handler),
    setSignalMask: (mask, old) => sigprocmask(SIG_SETMASK, mask, old),
    sysconf: (name) => sysconf(name),
    linkat: (oldPath, newPath, flags) => linkat(AT_FDCWD, oldPath, AT_FDCWD, newPath, flags),
    renameat2: (oldPath, newPath, flags) =>
      (syscall ?? unsupported)(SYS_renameat2, 'int', AT_FDCWD, 'const char *', oldPath, 'int', AT_FDCWD, 'const char *', newPath, 'unsigned int', flags),
    socket: (domain, type, protocol) => socket(domain, type, protocol),
    bind: (fd, address, length) => bind(fd, address, length),
    sendto: (fd, data, length, flags, address, addressLength) => sendto(fd, data, length, flags, address, addressLength),
    recv: (fd, buffer, length, flags) => recv(fd, buffer, length, flags),
    getFdFlags: (fd) => fcntl(fd, F_GETFD),
    setFdFlags: (fd, flags) => fcntl(fd, F_SETFD, 'int', flags),
  };
}
