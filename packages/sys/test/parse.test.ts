import { decodeWaitStatus, parseUptime, parseCgroupV2Path, parseChildrenList, parseLockLines, parseMountInfo, parseProcStat, splitDevice } from '@x/sys';
import { describe, expect, it } from 'vitest';

const statLine = (comm: string, rest = 'S 1 100 100 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 4242 0 0') => `1234 (${comm}) ${rest}\n`;

describe('parseProcStat', () => {
  it.each([
    ['node', 'node'],
    ['with space', 'with space'],
    ['a) (b', 'a) (b'],
    [')', ')'],
    ['((', '(('],
    ['x) S 9 9 9', 'x) S 9 9 9'],
    ['', ''],
  ])('reads fields after a command name of %j', (comm, expected) => {
    expect(parseProcStat(statLine(comm))).toEqual({
      pid: 1234,
      comm: expected,
      state: 'S',
      ppid: 1,
      pgid: 100,
      sid: 100,
      ttyNr: 0,
      startTicks: 4242,
    });
  });

  it.each([
    ['empty text', ''],
    ['no parentheses', '1234 node S 1 1 1 0'],
    ['truncated after the name', '1234 (node)'],
    ['non-numeric ppid', '1234 (node) S x 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0'],
    ['a two-letter state', '1234 (node) SS 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0'],
    ['pid 0', '0 (node) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0'],
  ])('rejects %s', (_, text) => {
    expect(parseProcStat(text)).toBeUndefined();
  });
});

describe('decodeWaitStatus', () => {
  it.each([
    [0x0000, { code: 0, signal: null, coreDumped: false }],
    [0x0700, { code: 7, signal: null, coreDumped: false }],
    [0xff00, { code: 255, signal: null, coreDumped: false }],
    [0x000f, { code: null, signal: 'SIGTERM', coreDumped: false }],
    [0x0009, { code: null, signal: 'SIGKILL', coreDumped: false }],
    [0x0086, { code: null, signal: 'SIGABRT', coreDumped: true }],
    [0x008b, { code: null, signal: 'SIGSEGV', coreDumped: true }],
  ])('decodes status %i', (status, expected) => {
    expect(decodeWaitStatus(status)).toEqual(expected);
  });

  it('reports stopped and continued children as not ended', () => {
    expect(decodeWaitStatus(0x137f)).toBeUndefined();
    expect(decodeWaitStatus(0xffff)).toBeUndefined();
  });
});

describe('parseChildrenList', () => {
  it.each([
    ['', []],
    ['12 ', [12]],
    ['12 345 6789 ', [12, 345, 6789]],
    ['12  x 0 -3 7', [12, 7]],
  ])('parses %j', (text, expected) => {
    expect(parseChildrenList(text)).toEqual(expected);
  });
});

describe('parseMountInfo', () => {
  const text = [
    '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    '50 23 0:40 /sub /mnt/with\\040space ro,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate',
    'garbage',
  ].join('\n');

  it('finds the fs type after the separator, with optional fields and escaped paths', () => {
    expect(parseMountInfo(text)).toEqual([
      { id: 31, major: 0, minor: 28, root: '/', mountPoint: '/sys/fs/cgroup', fsType: 'tmpfs', options: ['rw', 'relatime'] },
      { id: 41, major: 0, minor: 38, root: '/', mountPoint: '/sys/fs/cgroup/unified', fsType: 'cgroup2', options: ['rw', 'relatime'] },
      { id: 50, major: 0, minor: 40, root: '/sub', mountPoint: '/mnt/with space', fsType: 'cgroup2', options: ['ro', 'relatime'] },
    ]);
  });
});

describe('parseCgroupV2Path', () => {
  it.each([
    ['0::/\n', '/'],
    ['12:pids:/a\n0::/user.slice/session-1.scope\n', '/user.slice/session-1.scope'],
    ['4:memory:/x\n', undefined],
  ])('parses %j', (text, expected) => {
    expect(parseCgroupV2Path(text)).toBe(expected);
  });
});

describe('parseUptime', () => {
  it('reads seconds since boot, to the hundredth', () => {
    expect(parseUptime('3512.07 6900.11\n')).toBe(3512.07);
    expect(parseUptime('12 24\n')).toBe(12);
    expect(parseUptime('garbage')).toBeUndefined();
  });
});

describe('parseLockLines', () => {
  const flock = { kind: 'FLOCK', mode: 'ADVISORY', access: 'WRITE' };
  it.each([
    ['a /proc/locks line', '1: FLOCK  ADVISORY  WRITE 4123 fe:00:2146695 0 EOF\n', [{ ...flock, pid: 4123, major: 0xfe, minor: 0, inode: 2146695 }]],
    ['an fdinfo line of a lock whose taker is gone', 'pos:\t0\nflags:\t0100000\nmnt_id:\t43\nlock:\t1: FLOCK  ADVISORY  WRITE 0 00:2d:17 0 EOF\n', [{ ...flock, pid: 0, major: 0, minor: 0x2d, inode: 17 }]],
    ['POSIX and shared locks', '2: POSIX  ADVISORY  READ 9 08:01:5 0 EOF\n3: FLOCK  ADVISORY  READ 10 08:01:6 0 EOF', [
      { kind: 'POSIX', mode: 'ADVISORY', access: 'READ', pid: 9, major: 8, minor: 1, inode: 5 },
      { kind: 'FLOCK', mode: 'ADVISORY', access: 'READ', pid: 10, major: 8, minor: 1, inode: 6 },
    ]],
    ['a waiter, which holds nothing', '1: FLOCK  ADVISORY  WRITE 7 fe:00:1 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 8 fe:00:1 0 EOF', [{ ...flock, pid: 7, major: 0xfe, minor: 0, inode: 1 }]],
    ['junk', 'pos: 0\nlock: nonsense\n1: FLOCK ADVISORY WRITE x fe:00:1 0 EOF\n', []],
  ])('parses %s', (_what, text, expected) => {
    expect(parseLockLines(text)).toEqual(expected);
  });
});

describe('splitDevice', () => {
  it.each([
    [0xfe00, { major: 0xfe, minor: 0 }],
    [0x2d, { major: 0, minor: 0x2d }],
    // Large minors spill into the high bits of dev_t.
    [0x100801, { major: 8, minor: 0x101 }],
  ])('splits %d', (dev, expected) => {
    expect(splitDevice(dev)).toEqual(expected);
  });
});
