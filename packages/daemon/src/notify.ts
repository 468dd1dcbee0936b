import { constants } from 'node:os';
import { sendUnixDatagram } from '@x/sys';

let claimed: string | undefined;

/**
 * Whether NOTIFY_SOCKET belongs to this very process: systemd (>= 248) names the process it started in
 * SYSTEMD_EXEC_PID, and every descendant inherits both variables. Without SYSTEMD_EXEC_PID (older
 * systemd, other managers) the socket counts as ours.
 */
export function notifySocketIsOurs(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.NOTIFY_SOCKET ?? '') === '') return false;
  const execPid = env.SYSTEMD_EXEC_PID;
  return execPid === undefined || execPid === '' || execPid === String(process.pid);
}

/**
 * Takes NOTIFY_SOCKET out of the environment (children must not speak for this service) and keeps it
 * for notify(), as sd_notify(unset_environment) does. Returns the socket, or undefined without one.
 */
export function claimNotifySocket(): string | undefined {
  const socket = process.env.NOTIFY_SOCKET;
  if (socket !== undefined && socket !== '') claimed = socket;
  Reflect.deleteProperty(process.env, 'NOTIFY_SOCKET');
  return claimed;
}

/** The errno to report for `error` (positive, as ERRNO= wants), if it carries one. */
export function errnoOf(error: unknown): number | undefined {
  const { code, errno } = (error ?? {}) as { code?: unknown; errno?: unknown };
  const byCode = typeof code === 'string' ? (constants.errno as Record<string, number | undefined>)[code] : undefined;
  if (byCode !== undefined) return byCode;
  return typeof errno === 'number' && Number.isInteger(errno) && errno !== 0 ? Math.abs(errno) : undefined;
}

/**
 * Sends a state to the service manager, as sd_notify(3) does: `notify({ READY: 1, STATUS: 'serving' })`
 * or `notify('READY=1')`. Goes to the unix datagram socket named by NOTIFY_SOCKET (a path, or '@name'
 * for an abstract socket) when that socket is this process's own (SYSTEMD_EXEC_PID, when set, is this
 * pid). The first call takes NOTIFY_SOCKET out of the environment, so children started afterwards do
 * not inherit it; later calls still reach it. Returns false, doing nothing, when there is no socket of
 * ours; throws the system error when the socket cannot be reached. Linux only.
 */
export function notify(state: string | Readonly<Record<string, string | number>>): boolean {
  const text =
    typeof state === 'string'
      ? state
      : Object.entries(state)
          .map(([key, value]) => `${key}=${value}`)
          .join('\n');
  if (text.length === 0) throw new TypeError('notify() needs at least one KEY=VALUE');
  if (claimed === undefined && notifySocketIsOurs()) claimNotifySocket();
  if (claimed === undefined) return false;
  sendUnixDatagram(claimed, Buffer.from(text));
  return true;
}
