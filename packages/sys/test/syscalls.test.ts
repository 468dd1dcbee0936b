import { spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  close,
  flock,
  getParentDeathSignal,
  getpgid,
  getppid,
  getsid,
  isChildSubreaper,
  linkOpenFile,
  peekEndedChild,
  receiveUnixDatagram,
  sendUnixDatagram,
  bindUnixDatagram,
  pidfdOpen,
  pidfdSendSignal,
  pipe,
  setParentDeathSignal,
  signalNumber,
  waitpid,
} from '@x/sys';
import { flockFree, groupOf, isAlive, makeFifo, openGate, parentOf, pidExists, scratchDir, sessionOf, startFixture, stateOf, waitFor } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const scratch = scratchDir('x-sys');

describe('waitpid', () => {
  it('collects the exit code and the signal of adopted orphans, and only the pid asked for', async () => {
    // The first orphan exits 7 once it reads a line from the fifo `gate`, which the test writes after the adoption.
    const gate = join(scratch, 'orphan-gate');
    makeFifo(gate);
    const reaper = startFixture(fixture('subreaper.mjs'), [`(read _ < "${gate}"; exit 7) & echo $!; sleep 60 & echo $!`], { ipc: true });
    const { subreaper, orphans } = await reaper.nextMessage<{ subreaper: boolean; orphans: number[] }>();
    const [exits7, sleeper] = orphans as [number, number];
    expect(subreaper).toBe(true);
    // The kernel re-parented both orphans to the subreaper.
    await waitFor(() => parentOf(exits7) === reaper.pid && parentOf(sleeper) === reaper.pid, { message: 'orphans to be adopted' });
    expect(isAlive(exits7)).toBe(true);
    // Opening a fifo without blocking fails (ENXIO) until its reader has it open.
    await openGate(gate, `orphan ${exits7}`, 'go');

    // Once it has ended, a peek names it without collecting it: waitpid still gets its status after.
    await waitFor(() => stateOf(exits7) === 'Z', { message: 'the orphan to end' });
    reaper.child.send({ peek: true });
    expect(await reaper.nextMessage()).toEqual({ peeked: exits7 });
    reaper.child.send({ reap: exits7 });
    expect(await reaper.nextMessage()).toEqual({ reaped: { pid: exits7, code: 7, signal: null, coreDumped: false } });
    expect(pidExists(exits7)).toBe(false);
    expect(isAlive(sleeper)).toBe(true);

    process.kill(sleeper, 'SIGTERM');
    reaper.child.send({ reap: sleeper });
    expect(await reaper.nextMessage()).toEqual({ reaped: { pid: sleeper, code: null, signal: 'SIGTERM', coreDumped: false } });
    expect(pidExists(sleeper)).toBe(false);
    reaper.child.kill('SIGKILL');
    await reaper.exit();
  });

  it('peeks at nothing when no child has ended', () => {
    expect(peekEndedChild()).toBeUndefined();
  });

  it('throws ECHILD for a pid that is not our child', () => {
    expect(() => waitpid(1)).toThrow(expect.objectContaining({ code: 'ECHILD', errno: -10, syscall: 'waitpid', message: 'waitpid ECHILD' }));
  });

  it('returns undefined without blocking while the child runs', async () => {
    // Only asked while the child runs, so the status libuv waits for is never taken.
    const child = spawn('sleep', ['30']);
    const pid = child.pid as number;
    expect(waitpid(pid)).toBeUndefined();
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  });
});

describe('PR_SET_PDEATHSIG', () => {
  it('delivers the armed signal to a child whose parent is SIGKILLed', async () => {
    for (let round = 0; round < 5; round++) {
      const marker = join(scratch, `pdeathsig-${round}`);
      const parent = startFixture(fixture('pdeathsig-parent.mjs'), [marker], { ipc: true });
      const armed = await parent.nextMessage<string>();
      const childPid = Number(armed.split(' ')[1]);
      expect(isAlive(childPid)).toBe(true);
      parent.child.kill('SIGKILL');
      await parent.exit();
      await waitFor(() => !isAlive(childPid), { timeout: 5000, message: `child ${childPid} to die with its parent` });
      expect(readFileSync(marker, 'utf8')).toBe('SIGUSR2');
    }
  });

  it('reads back what was armed, and clears it', () => {
    expect(getParentDeathSignal()).toBeNull();
    setParentDeathSignal('SIGTERM');
    expect(getParentDeathSignal()).toBe('SIGTERM');
    setParentDeathSignal(null);
    expect(getParentDeathSignal()).toBeNull();
  });

  it('rejects signals that do not exist', () => {
    expect(() => {
      setParentDeathSignal('SIGNOPE');
    }).toThrow(expect.objectContaining({ code: 'ERR_X_INVALID_SIGNAL' }));
    expect(() => signalNumber(65)).toThrow(expect.objectContaining({ code: 'ERR_X_INVALID_SIGNAL' }));
    expect(signalNumber('term')).toBe(15);
  });
});

describe('child subreaper', () => {
  it('is off in a fresh process (the adoption itself is shown by the waitpid test)', () => {
    expect(isChildSubreaper()).toBe(false);
  });
});

describe('flock', () => {
  it('lets one open file description hold the lock; another process and flock(1) see it busy', async () => {
    const path = join(scratch, 'lock');
    writeFileSync(path, '');
    const fd = openSync(path, 'r+');
    try {
      expect(flock(fd, 'exclusive')).toBe(true);
      expect(flockFree(path)).toBe(false);
      const contender = startFixture(fixture('flock.mjs'), [path]);
      expect(await contender.nextLine()).toBe('busy');
      expect(flock(fd, 'unlock')).toBe(true);
      expect(await contender.nextLine()).toBe('locked');
      // Now we are the ones who cannot have it.
      expect(flock(fd, 'exclusive')).toBe(false);
      expect(flock(fd, 'shared')).toBe(false);
      contender.child.kill('SIGKILL');
      await contender.exit();
      // Its death released the lock: no stale lock survives a crashed owner.
      expect(flock(fd, 'exclusive')).toBe(true);
    } finally {
      closeSync(fd);
    }
    expect(flockFree(path)).toBe(true);
  });

  it('shares a shared lock', () => {
    const path = join(scratch, 'shared');
    writeFileSync(path, '');
    const first = openSync(path, 'r');
    const second = openSync(path, 'r');
    try {
      expect(flock(first, 'shared')).toBe(true);
      expect(flock(second, 'shared')).toBe(true);
      expect(flock(second, 'exclusive')).toBe(false);
    } finally {
      closeSync(first);
      closeSync(second);
    }
  });

  it('throws EBADF for a closed fd and a TypeError for a bad mode', () => {
    expect(() => flock(987_654, 'exclusive')).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'flock', message: 'flock EBADF' }));
    expect(() => flock(0, 'both' as 'shared')).toThrow(TypeError);
  });
});

describe('pidfd', () => {
  it('signals the process it names, and ESRCH once that process is gone', async () => {
    const target = startFixture(fixture('forever.mjs'));
    expect(await target.nextLine()).toBe('ready');
    const pidfd = pidfdOpen(target.pid);
    try {
      pidfdSendSignal(pidfd, 'SIGTERM');
      expect(await target.exit()).toEqual({ code: null, signal: 'SIGTERM' });
      expect(pidExists(target.pid)).toBe(false);
      expect(() => {
        pidfdSendSignal(pidfd, 'SIGTERM');
      }).toThrow(expect.objectContaining({ code: 'ESRCH', syscall: 'pidfd_send_signal' }));
    } finally {
      close(pidfd);
    }
  });

  it('refuses pids that do not exist or are not positive', () => {
    expect(() => pidfdOpen(4_194_303)).toThrow(expect.objectContaining({ code: 'ESRCH', syscall: 'pidfd_open' }));
    expect(() => pidfdOpen(0)).toThrow(RangeError);
    expect(() => pidfdOpen(-5)).toThrow(RangeError);
  });
});

describe('pipe and close', () => {
  it('creates a close-on-exec pipe that carries bytes', () => {
    const [read, write] = pipe();
    try {
      const flags = readFileSync(`/proc/self/fdinfo/${read}`, 'utf8');
      // O_CLOEXEC is 02000000 in the octal flags line.
      expect(Number.parseInt(/flags:\s+(\d+)/.exec(flags)?.[1] ?? '0', 8) & 0o2000000).not.toBe(0);
      writeSync(write, 'hello');
      const buffer = Buffer.alloc(16);
      expect(buffer.toString('utf8', 0, readSync(read, buffer))).toBe('hello');
    } finally {
      close(read);
      close(write);
    }
    expect(() => {
      close(read);
    }).toThrow(expect.objectContaining({ code: 'EBADF', errno: -9, syscall: 'close' }));
  });
});

describe('linkOpenFile', () => {
  it('names an unnamed O_TMPFILE file, and never replaces an existing name', () => {
    const O_TMPFILE = 0o20200000;
    const fd = openSync(scratch, O_TMPFILE | constants.O_RDWR, 0o644);
    try {
      writeSync(fd, 'whole\n');
      const path = join(scratch, 'named');
      linkOpenFile(fd, path);
      expect(readFileSync(path, 'utf8')).toBe('whole\n');
      expect(statSync(path).ino).toBe(fstatSync(fd).ino);
      expect(() => {
        linkOpenFile(fd, path);
      }).toThrow(expect.objectContaining({ code: 'EEXIST', syscall: 'linkat' }));
      symlinkSync(join(scratch, 'nowhere'), join(scratch, 'dangling'));
      expect(() => {
        linkOpenFile(fd, join(scratch, 'dangling'));
      }).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    } finally {
      closeSync(fd);
    }
    expect(() => {
      linkOpenFile(fd, join(scratch, 'closed'));
    }).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

describe('unix datagrams', () => {
  it.each(['path', 'abstract'])('sends to and receives from a %s socket, as sd_notify does', (kind) => {
    const address = kind === 'path' ? join(scratch, 'notify.sock') : `@x-sys-test-${process.pid}`;
    const fd = bindUnixDatagram(address);
    try {
      expect(receiveUnixDatagram(fd)).toBeUndefined();
      sendUnixDatagram(address, Buffer.from('READY=1\nSTATUS=up'));
      expect(receiveUnixDatagram(fd)?.toString()).toBe('READY=1\nSTATUS=up');
    } finally {
      close(fd);
    }
    expect(() => {
      sendUnixDatagram(address, Buffer.from('x'));
    }).toThrow(expect.objectContaining({ syscall: 'sendto' }));
    expect(() => {
      sendUnixDatagram(join(scratch, 'x'.repeat(200)), Buffer.from('x'));
    }).toThrow(RangeError);
  });
});

describe('sessions and groups', () => {
  it('reports the same group and session the kernel shows in /proc', () => {
    expect(getpgid()).toBe(groupOf(process.pid));
    expect(getsid()).toBe(sessionOf(process.pid));
    expect(getppid()).toBe(process.ppid);
  });

  it('throws ESRCH for a pid that does not exist', () => {
    expect(() => getpgid(4_194_303)).toThrow(expect.objectContaining({ code: 'ESRCH', syscall: 'getpgid' }));
    expect(() => getsid(4_194_303)).toThrow(expect.objectContaining({ code: 'ESRCH', syscall: 'getsid' }));
  });
});

describe('execvp', () => {
  it('replaces the process in place with default SIGPIPE, and throws ENOENT for a missing program', async () => {
    // SigIgn is the kernel's bitmask of ignored signals; bit 12 is SIGPIPE (13).
    const program = startFixture(fixture('exec.mjs'), ['echo $$; grep SigIgn /proc/$$/status']);
    expect(await program.nextLine()).toBe("ENOENT execvp x-no-such-program-anywhere: execvp ENOENT 'x-no-such-program-anywhere'");
    expect(Number(await program.nextLine())).toBe(program.pid);
    const ignored = BigInt(`0x${(await program.nextLine()).split(/\s+/)[1] ?? ''}`);
    expect(ignored & (1n << 12n)).toBe(0n);
    expect(await program.exit()).toEqual({ code: 0, signal: null });
  });
});
