import { sendUnixDatagram } from '@x/sys';

/**
 * Sends a state to the service manager, as sd_notify(3) does: `notify({ READY: 1, STATUS: 'serving' })`
 * or `notify('READY=1')`. Goes to the unix datagram socket named by NOTIFY_SOCKET (a path, or '@name'
 * for an abstract socket). Returns false, doing nothing, when NOTIFY_SOCKET is not set; throws the
 * system error when the socket cannot be reached. Linux only.
 */
export function notify(state: string | Readonly<Record<string, string | number>>): boolean {
  const socket = process.env.NOTIFY_SOCKET;
  if (socket === undefined || socket.length === 0) return false;
  const text =
    typeof state === 'string'
      ? state
      : Object.entries(state)
          .map(([key, value]) => `${key}=${value}`)
          .join('\n');
  if (text.length === 0) throw new TypeError('notify() needs at least one KEY=VALUE');
  sendUnixDatagram(socket, Buffer.from(text));
  return true;
}
