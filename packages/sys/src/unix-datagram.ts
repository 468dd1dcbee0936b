import { constants } from 'node:os';
import { check } from './call.js';
import { SystemError } from './errors.js';
import { libc } from './libc.js';
import { requireLinux } from './platform.js';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const { EAGAIN, EINTR } = constants.errno;
/** sun_path holds 108 bytes on Linux. */
const PATH_MAX = 108;

/**
 * Encodes a struct sockaddr_un. A path starting with '@' names an abstract socket (a leading NUL byte
 * on the wire, as systemd writes NOTIFY_SOCKET); other paths are file system paths.
 */
export function unixAddress(path: string): Uint8Array {
  const abstract = path.startsWith('@');
  const name = Buffer.from(abstract ? `\0${path.slice(1)}` : path);
  if (name.length === 0 || name.length >= PATH_MAX) throw new RangeError(`a unix socket path must be 1 to ${PATH_MAX - 1} bytes, got ${name.length}`);
  const address = Buffer.alloc(2 + name.length + (abstract ? 0 : 1));
  address.writeUInt16LE(AF_UNIX, 0);
  name.copy(address, 2);
  return address;
}

/**
 * Sends one datagram to a unix datagram socket (what sd_notify does), from a fresh socket that is
 * closed again. Throws ENOENT / ECONNREFUSED when nobody listens there. Linux only.
 */
export function sendUnixDatagram(path: string, data: Uint8Array): void {
  requireLinux('unix datagram sockets');
  const address = unixAddress(path);
  const c = libc();
  const fd = check('socket', () => c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  try {
    check('sendto', () => c.sendto(fd, data, data.length, MSG_NOSIGNAL, address, address.length), path);
  } finally {
    c.close(fd);
  }
}

/**
 * Binds a non-blocking unix datagram socket at `path` ('@name' for an abstract one) and returns its fd;
 * read it with receiveUnixDatagram(). Close it with close(). Linux only.
 */
export function bindUnixDatagram(path: string): number {
  requireLinux('unix datagram sockets');
  const address = unixAddress(path);
  const c = libc();
  const fd = check('socket', () => c.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  try {
    check('bind', () => c.bind(fd, address, address.length), path);
  } catch (error) {
    c.close(fd);
    throw error;
  }
  return fd;
}

/** The next datagram waiting on a socket from bindUnixDatagram(), or undefined when none is (never blocks). */
export function receiveUnixDatagram(fd: number, maxLength = 4096): Buffer | undefined {
  const c = libc();
  const buffer = Buffer.alloc(maxLength);
  for (;;) {
    const length = c.recv(fd, buffer, buffer.length, MSG_DONTWAIT);
    if (length >= 0) return buffer.subarray(0, length);
    const errno = c.errno();
    if (errno === EAGAIN) return undefined;
    if (errno !== EINTR) throw new SystemError(errno, 'recv');
  }
}
