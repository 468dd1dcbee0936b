/** `x-daemon start`'s options as given (paths absolute); what is left out takes START_DEFAULTS. */
export interface StartOptions {
  readonly command: readonly string[];
  readonly pidFile?: string | undefined;
  /** Create the PID file's directory (mode 0755) when it does not exist, as acquire()'s `createDirectory`. */
  readonly createDirectory?: boolean | undefined;
  readonly stdout?: string | undefined;
  readonly stderr?: string | undefined;
  readonly cwd?: string | undefined;
  readonly umask?: number | undefined;
  /** ms until the command must be ready. */
  readonly timeout?: number | undefined;
  /** ms the command must stay up to count as ready (without `notify`). */
  readonly settle?: number | undefined;
  /** Ready when the command sends READY=1 to the NOTIFY_SOCKET it is given. */
  readonly notify?: boolean | undefined;
}

export const START_DEFAULTS = { cwd: '/', umask: 0o022, timeout: 30_000, settle: 500, createDirectory: false, notify: false };

/** `x-daemon stop`: ms from SIGTERM to SIGKILL. */
export const STOP_DEFAULTS = { timeout: 10_000 };

export type ResolvedStart = typeof START_DEFAULTS & {
  readonly command: readonly string[];
  readonly pidFile?: string;
  readonly stdout?: string;
  readonly stderr?: string;
};

/** Fills in every default of `x-daemon start`; start() reads only this. */
export function resolveStartOptions(options: StartOptions): ResolvedStart {
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  return { ...START_DEFAULTS, ...given } as ResolvedStart;
}

/** Fills in every default of `x-daemon stop`; stop() reads only this. */
export function resolveStopOptions(options: { readonly timeout?: number | undefined }): typeof STOP_DEFAULTS {
  return { timeout: options.timeout ?? STOP_DEFAULTS.timeout };
}
