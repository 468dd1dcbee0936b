import { readdirSync } from 'node:fs';
import { inspect } from 'node:util';
import { DaemonError, daemonize } from '@x/daemon';
import { XError } from '@x/sys';
import { describe, expect, it } from 'vitest';

// Both errors are thrown before anything forks, so daemonize() can run in the test process itself.

const openFds = () => readdirSync('/proc/self/fd').sort();

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('daemonize() resolved where it had to reject');
}

describe('DaemonError', () => {
  it('is an XError of @x/sys, named on its prototype, with a stable code', async () => {
    const error = await rejection(daemonize({ timeout: 0 }));
    expect(error).toBeInstanceOf(DaemonError);
    expect(error).toBeInstanceOf(XError);
    const { code, name, message } = error as DaemonError;
    expect({ code, name }).toEqual({ code: 'ERR_DAEMON_BAD_OPTION', name: 'DaemonError' });
    expect(message).toBe('timeout must be a positive number of ms up to 2^31-1, got 0');
    expect(Object.keys(error as object)).not.toContain('name');
    expect(inspect(error)).toMatch(/^DaemonError: timeout must be/);
  });

  it('ERR_DAEMON_LOG: a log file that cannot be opened rejects with its cause, and leaves no descriptor open', async () => {
    const before = openFds();
    const error = await rejection(daemonize({ stdout: '/nonexistent/dir/out.log', exitOnError: false }));
    expect(error).toBeInstanceOf(DaemonError);
    expect(error).toMatchObject({ code: 'ERR_DAEMON_LOG', message: 'cannot open the log file /nonexistent/dir/out.log: its directory does not exist' });
    expect((error as DaemonError).cause).toMatchObject({ code: 'ENOENT' });
    expect(openFds()).toEqual(before);
  });
});
