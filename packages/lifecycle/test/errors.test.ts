import { DaemonError } from '@x/daemon';
import { ParentDeathEnvError, ParentDeathOptionError } from '@x/parentdeath';
import { PidFileError, PidFileLockedError, PidFileNotRunningError } from '@x/pidfile';
import { ProcGroupError } from '@x/procgroup';
import { ReaperError } from '@x/reaper';
import { InvalidSignalError, UnsupportedPlatformError, XError } from '@x/sys';
import { describe, expect, it } from 'vitest';

// Every error class a user can catch, across the packages.
const family: [string, abstract new (...args: never[]) => Error][] = [
  ['XError', XError],
  ['UnsupportedPlatformError', UnsupportedPlatformError],
  ['InvalidSignalError', InvalidSignalError],
  ['PidFileError', PidFileError],
  ['PidFileLockedError', PidFileLockedError],
  ['PidFileNotRunningError', PidFileNotRunningError],
  ['ProcGroupError', ProcGroupError],
  ['ReaperError', ReaperError],
  ['DaemonError', DaemonError],
];

describe('one error family across @x', () => {
  it.each(family)('%s extends XError and names itself on its own prototype, as a minifier leaves it', (name, Class) => {
    expect(Class === XError || Class.prototype instanceof XError).toBe(true);
    const own = Object.getOwnPropertyDescriptor(Class.prototype, 'name');
    expect(own?.value).toBe(name);
    expect(own?.enumerable).toBe(false);
  });

  it.each([
    ['ParentDeathEnvError', ParentDeathEnvError],
    ['ParentDeathOptionError', ParentDeathOptionError],
  ] as const)('%s stands alone (no dependencies in @x/parentdeath) but is named the same way', (name, Class) => {
    expect(Class.prototype instanceof XError).toBe(false);
    expect(Object.getOwnPropertyDescriptor(Class.prototype, 'name')?.value).toBe(name);
  });
});
