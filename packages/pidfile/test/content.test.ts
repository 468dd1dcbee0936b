import { formatPid, parsePidFile } from '@x/pidfile';
import { describe, expect, it } from 'vitest';

describe('parsePidFile', () => {
  it.each([
    ['4123\n', 4123],
    ['4123', 4123],
    ['  4123  \n', 4123],
    ['1\n', 1],
    ['4194304\n', 4_194_304],
  ])('reads %j as pid %i', (content, pid) => {
    expect(parsePidFile(content)).toEqual({ pid });
  });

  it.each([
    ['an empty file', ''],
    ['only whitespace', ' \n\t\n'],
    ['zero', '0\n'],
    ['minus one', '-1\n'],
    ['a negative number', '-4123\n'],
    ['a number beyond pid_max', '4194305\n'],
    ['a huge number', '99999999999999999999999\n'],
    ['leading zeros', '0042\n'],
    ['a number followed by garbage', '4123abc\n'],
    ['two numbers', '4123 4124\n'],
    ['two lines', '4123\n4124\n'],
    ['a float', '41.5\n'],
    ['hex', '0x1f\n'],
    ['binary junk', '\u0000\u00ff\u0007\u0010'],
    ['megabytes', '1'.repeat(3 << 20)],
  ])('never takes %s for a pid', (_, content) => {
    const parsed = parsePidFile(content);
    expect(parsed).not.toHaveProperty('pid');
    expect(parsed).toHaveProperty('invalid');
  });

  it('formats the standard content', () => {
    expect(formatPid(4123)).toBe('4123\n');
  });
});
