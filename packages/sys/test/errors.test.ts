import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { flock, renameNoReplace, SystemError, UnsupportedPlatformError, XError } from '@x/sys';
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

  it('system errors about files name the file, as Node\'s fs errors do', () => {
    const directory = mkdtempSync(join(tmpdir(), 'x-errors-'));
    try {
      const [from, to] = [join(directory, 'a'), join(directory, 'b')];
      writeFileSync(from, '');
      writeFileSync(to, '');
      expect(() => { renameNoReplace(from, to); }).toThrow(
        expect.objectContaining({ code: 'EEXIST', syscall: 'renameat2', path: from, dest: to, message: `renameat2 EEXIST '${from}' -> '${to}'` }),
      );
      expect(readdirSync(directory).sort()).toEqual(['a', 'b']);
    } finally {
      rmSync(directory, { recursive: true });
    }
  });
});
