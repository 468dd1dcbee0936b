import { inspect } from 'node:util';
import { PidFileError, PidFileLockedError, PidFileNotRunningError } from '@x/pidfile';
import { XError } from '@x/sys';
import { describe, expect, it } from 'vitest';

describe('@x/pidfile errors', () => {
  it.each([
    ['PidFileError', () => new PidFileError('ERR_PIDFILE_ACCESS', '/run/x.pid', 'no permission')],
    ['PidFileLockedError', () => new PidFileLockedError('/run/x.pid', 4123)],
    ['PidFileNotRunningError', () => new PidFileNotRunningError({ status: 'absent', path: '/run/x.pid' })],
  ])('%s is an XError named after its class, with its path, its name not an own property', (name, make) => {
    const error = make();
    expect(error).toBeInstanceOf(XError);
    expect(error).toBeInstanceOf(PidFileError);
    expect(error.name).toBe(name);
    expect(error.path).toBe('/run/x.pid');
    expect(Object.keys(error)).not.toContain('name');
    expect(inspect(error)).not.toMatch(/name: '/);
  });
});
