import { spawnGroup, type ProcessGroup } from '@x/procgroup';
import { describe, expect, it } from 'vitest';
import { ourLeaves } from './helpers.js';

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

  it('invalid signals, timeouts and containment are typed errors', async () => {
    const group: ProcessGroup = spawnGroup('sleep', ['60']);
    expect(() => group.signal('SIGBOGUS')).toThrow(expect.objectContaining({ code: 'ERR_X_INVALID_SIGNAL' }));
    expect(() => group.signal(999)).toThrow(expect.objectContaining({ code: 'ERR_X_INVALID_SIGNAL' }));
    expect(() => group.terminate({ signal: 'nope' })).toThrow(expect.objectContaining({ code: 'ERR_X_INVALID_SIGNAL' }));
    await expect(group.terminate({ timeout: 0 })).rejects.toMatchObject({ code: 'ERR_PROCGROUP_BAD_OPTION' });
    await expect(group.terminate({ timeout: -5 })).rejects.toMatchObject({ code: 'ERR_PROCGROUP_BAD_OPTION' });
    expect(() => spawnGroup('true', [], { containment: 'bogus' as 'group' })).toThrow(expect.objectContaining({ code: 'ERR_PROCGROUP_BAD_OPTION' }));
    await group.terminate();
  });
});
