import { spawnGroup, type ProcessGroup } from '@x/procgroup';
import { startFixture } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { fixture, ourLeaves } from './helpers.js';

describe('bad input', () => {
  it('a command that does not exist surfaces ENOENT and leaves no group', async () => {
    const group = spawnGroup('x-no-such-command-anywhere');
    const errors: unknown[] = [];
    group.child.on('error', (error) => errors.push(error));
    expect(group.pid).toBeUndefined();
    await expect(group.exited).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(group.terminate()).rejects.toMatchObject({ code: 'ENOENT' });
    expect(group.members()).toEqual([]);
    expect(group.signal('SIGTERM')).toBe(false);
    expect(errors).toHaveLength(1);
    expect(ourLeaves()).toEqual([]);
  });

  it("a command that does not exist does not crash an owner that handles 'error'", async () => {
    const owner = startFixture(fixture('spawns-missing.mjs'));
    expect(await owner.nextLine()).toBe('error ENOENT');
    expect(await owner.nextLine()).toBe('alive');
    expect(await owner.exit()).toEqual({ code: 0, signal: null });
    expect(owner.stderr).toBe('');
  });

  it('invalid signals, timeouts and containment are typed errors', async () => {
    const group: ProcessGroup = spawnGroup('sleep', ['60']);
    expect(() => group.signal('SIGBOGUS')).toThrow(expect.objectContaining({ code: 'ERR_X_INVALID_SIGNAL' }));
    expect(() => group.signal(999)).toThrow(expect.objectContaining({ code: 'ERR_X_INVALID_SIGNAL' }));
    expect(() => group.terminate({ signal: 'nope' })).toThrow(expect.objectContaining({ code: 'ERR_X_INVALID_SIGNAL' }));
    await expect(group.terminate({ timeout: 0 })).rejects.toMatchObject({ code: 'ERR_PROCGROUP_BAD_OPTION' });
    await expect(group.terminate({ timeout: -5 })).rejects.toMatchObject({ code: 'ERR_PROCGROUP_BAD_OPTION' });
    expect(() => spawnGroup('true', [], { containment: 'bogus' as 'group' })).toThrow(expect.objectContaining({ code: 'ERR_PROCGROUP_BAD_OPTION' }));
    expect(() => spawnGroup('true', [], { timeout: -1 })).toThrow(expect.objectContaining({ code: 'ERR_PROCGROUP_BAD_OPTION' }));
    expect(() => spawnGroup('true', [], { signal: {} as AbortSignal })).toThrow(expect.objectContaining({ code: 'ERR_PROCGROUP_BAD_OPTION' }));
    expect(() => spawnGroup('true', [], { killSignal: 'SIGNOPE' as NodeJS.Signals })).toThrow(expect.objectContaining({ code: 'ERR_X_INVALID_SIGNAL' }));
    await group.terminate();
  });
});
