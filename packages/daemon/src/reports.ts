import type { Readable } from 'node:stream';

/** One line the stages write on the report pipe. */
export interface Report {
  /** The sh stage: the pid it is about to exec as (the daemon). */
  started?: number;
  /** The sh stage could not go on: 'cwd', 'umask' or 'exec'. */
  stage?: string;
  /** daemonize()'s daemon: its pid, once its own code runs. */
  pid?: number;
  ready?: boolean;
  failed?: string;
}

export interface Verdict {
  ready?: boolean;
  failed?: string;
}

/**
 * Reads JSON lines from `stream`, handing each to `onReport`, until it returns a verdict, the stream
 * ends (every writer closed it or exited), or `timeout` ms pass. Destroys the stream before resolving.
 */
export function readReports(stream: Readable, timeout: number, onReport: (report: Report) => Verdict | undefined): Promise<Verdict & { timedOut?: boolean; ended?: boolean }> {
  return new Promise((resolve) => {
    let buffered = '';
    let settled = false;
    const settle = (verdict: Verdict & { timedOut?: boolean; ended?: boolean }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(() => {
      settle({ timedOut: true });
    }, timeout);
    stream.on('data', (chunk: string | Buffer) => {
      buffered += chunk.toString();
      for (let newline = buffered.indexOf('\n'); newline >= 0 && !settled; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let report: unknown;
        try {
          report = JSON.parse(line);
        } catch {
          continue;
        }
        if (report === null || typeof report !== 'object') continue;
        const verdict = onReport(report);
        if (verdict !== undefined) settle(verdict);
      }
    });
    stream.on('end', () => {
      settle({ ended: true });
    });
    stream.on('error', (error) => {
      settle({ failed: error.message });
    });
  });
}
