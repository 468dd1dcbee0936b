import { inspect } from 'node:util';
import { flock, SystemError, UnsupportedPlatformError, XError } from '@x/sys';
import { describe, expect, it } from 'vitest';

describe('one error family', () => {
  it.each([
    ['XError', () => new XError('ERR_X_EXAMPLE', 'an example')],
    ['UnsupportedPlatformError', () => new UnsupportedPlatformError('prctl')],
  ])('%s is an XError named after its class, its name not an own property', (name, make) => {
    const error = make();
    expect(error).toBeInstanceOf(XError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(Object.keys(error)).not.toContain('name');
    expect(error.stack?.startsWith(`${name}: `)).toBe(true);
    expect(inspect(error)).not.toMatch(/name: '/);
    expect(error.code).toMatch(/^ERR_/);
  });

  it('system errors look like Node\'s own', () => {
    let error: unknown;
    try {
      flock(987_654, 'exclusive');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SystemError);
    expect(error).toMatchObject({ name: 'SystemError', code: 'EBADF', syscall: 'flock', message: 'flock EBADF' });
    expect(Object.keys(error as object)).not.toContain('name');
  });
});
