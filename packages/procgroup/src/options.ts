import type { SpawnOptions } from 'node:child_process';
import { signalNumber, type SignalLike } from '@x/sys';
import { cgroupUnavailable } from './cgroup.js';
import { ProcGroupError } from './errors.js';

export type Containment = 'group' | 'cgroup' | 'auto';

export interface SpawnGroupOptions extends Omit<SpawnOptions, 'detached'> {
  /**
   * 'group' (default): a new session and process group led by the command. 'cgroup': that, inside a
   * fresh cgroup v2 leaf, so that members which leave the group (setsid, setpgid) are still caught.
   * 'auto': 'cgroup' where a writable cgroup v2 hierarchy with cgroup.kill exists, else 'group'.
   */
  containment?: Containment;
  /** Kill the whole group when this process ends, however it ends (default true). */
  dieWithOwner?: boolean;
}

export interface TerminateOptions {
  /** The first, polite signal (default 'SIGTERM'). */
  signal?: SignalLike;
  /** Ms to wait for every member to be gone before SIGKILL (default 5000). */
  timeout?: number;
}

export const DEFAULTS = {
  containment: 'group' as Containment,
  dieWithOwner: true,
  /** What `signal` (abort) and `timeout` of spawnGroup send first, as in child_process. */
  killSignal: 'SIGTERM' as SignalLike,
  /** terminate()'s first signal and grace period. */
  terminateSignal: 'SIGTERM' as SignalLike,
  terminateTimeout: 5000,
  /** How long kill() waits for SIGKILLed members before it resorts to waiting without a deadline. */
  killTimeout: 10_000,
};

/** spawnGroup's options, checked, with every default filled in. */
export interface Resolved {
  /** 'auto' decided. */
  readonly containment: 'group' | 'cgroup';
  readonly dieWithOwner: boolean;
  readonly abortSignal: AbortSignal | undefined;
  readonly timeout: number | undefined;
  readonly killSignal: number;
  /** What is left for child_process.spawn. */
  readonly spawnOptions: SpawnOptions;
}

/** Checks spawnGroup's options and fills in every default; ProcessGroup reads only the result. */
export function resolveOptions(options: SpawnGroupOptions): Resolved {
  const { containment = DEFAULTS.containment, dieWithOwner = DEFAULTS.dieWithOwner, signal: abortSignal, timeout, ...spawnOptions } = options;
  if (!['group', 'cgroup', 'auto'].includes(containment)) {
    throw new ProcGroupError('ERR_PROCGROUP_BAD_OPTION', `containment must be 'group', 'cgroup' or 'auto', got ${JSON.stringify(containment)}`);
  }
  if (abortSignal !== undefined && !(abortSignal instanceof AbortSignal)) {
    throw new ProcGroupError('ERR_PROCGROUP_BAD_OPTION', 'signal must be an AbortSignal');
  }
  if (timeout !== undefined && (!Number.isFinite(timeout) || timeout < 0)) {
    throw new ProcGroupError('ERR_PROCGROUP_BAD_OPTION', `timeout must be a number of ms >= 0, got ${timeout}`);
  }
  const killSignal = signalNumber(spawnOptions.killSignal ?? DEFAULTS.killSignal);
  return {
    containment: containment === 'auto' ? (cgroupUnavailable() === undefined ? 'cgroup' : 'group') : containment,
    dieWithOwner,
    abortSignal,
    // 0 means none, as in child_process.
    timeout: timeout === 0 ? undefined : timeout,
    killSignal,
    spawnOptions,
  };
}

/**
 * terminate()'s options with their defaults. A bad signal throws ERR_X_INVALID_SIGNAL; a bad timeout is
 * returned as the error, for terminate() to reject with.
 */
export function resolveTerminate(options: TerminateOptions): { signal: number; timeout: number } | ProcGroupError {
  const { signal = DEFAULTS.terminateSignal, timeout = DEFAULTS.terminateTimeout } = options;
  const number = signalNumber(signal);
  if (!Number.isFinite(timeout) || timeout <= 0) return new ProcGroupError('ERR_PROCGROUP_BAD_OPTION', `timeout must be a positive number of ms, got ${timeout}`);
  return { signal: number, timeout };
}
