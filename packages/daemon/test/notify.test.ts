import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { notify } from '@x/daemon';
import { bindUnixDatagram, close, receiveUnixDatagram } from '@x/sys';
import { isAlive, scratchDir, startFixture, waitFor } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { environOf, fixture, pidIn, proc, run, stopDaemon } from './helpers.js';

const dir = scratchDir('x-daemon');
let counter = 0;
const fresh = (name: string) => join(dir, `${name}-${++counter}`);

/** Runs a daemonizing fixture as the very process systemd started: SYSTEMD_EXEC_PID is its own pid. */
function asSystemdService(address: string, options: object, program = 'becomes-ready.mjs') {
  const command = `SYSTEMD_EXEC_PID=$$ exec "${process.execPath}" "${fixture(program)}" '${JSON.stringify(options)}'`;
  return startFixture('sh', ['-c', command], { env: { ...process.env, NOTIFY_SOCKET: address } });
}

describe('notify', () => {
  it('does nothing without NOTIFY_SOCKET', () => {
    const saved = process.env.NOTIFY_SOCKET;
    Reflect.deleteProperty(process.env, 'NOTIFY_SOCKET');
    try {
      expect(notify('READY=1')).toBe(false);
    } finally {
      if (saved !== undefined) process.env.NOTIFY_SOCKET = saved;
    }
  });

  it.each(['abstract', 'path'])(
    'under systemd (a %s NOTIFY_SOCKET, SYSTEMD_EXEC_PID this process), daemonize stays in the foreground, applies cwd and umask, hides the socket from children, and ready() sends READY=1 with MAINPID',
    async (kind) => {
      const address = kind === 'abstract' ? `@x-daemon-test-${process.pid}-${kind}` : join(dir, 'notify.sock');
      const socket = bindUnixDatagram(address);
      const report = fresh(`report-${kind}`);
      const pidFile = fresh('pid');
      try {
        const service = asSystemdService(address, { report, pidFile, cwd: dir, umask: 0o027 });
        const datagram = await waitFor(() => receiveUnixDatagram(socket)?.toString(), { message: 'READY=1 on the socket' });
        const { pid, stage, childNotifySocket } = JSON.parse(readFileSync(report, 'utf8')) as { pid: number; stage: string; childNotifySocket: string };
        expect(stage).toBe('daemon');
        expect(datagram.split('\n').sort()).toEqual(['MAINPID=' + String(pid), 'READY=1', 'STATUS=serving'].sort());
        // Not forked: the process systemd started is the daemon itself, still running.
        expect(pid).toBe(service.pid);
        expect(pidIn(pidFile)).toBe(pid);
        expect(proc(pid)).toMatchObject({ cwd: dir, umask: '0027' });
        expect(childNotifySocket).toBe('unset');
        process.kill(pid, 'SIGTERM');
        // Dies by the signal, as systemd expects of a clean stop (not exit code 143).
        expect(await service.exit()).toEqual({ code: null, signal: 'SIGTERM' });
      } finally {
        close(socket);
      }
    },
  );

  it('a child of a notify service daemonizes normally and never sends READY or MAINPID for the service', async () => {
    const address = `@x-daemon-test-child-${process.pid}`;
    const socket = bindUnixDatagram(address);
    const pidFile = fresh('pid');
    const report = fresh('report');
    try {
      // systemd started the test runner, not this program.
      const env = { ...process.env, NOTIFY_SOCKET: address, SYSTEMD_EXEC_PID: String(process.pid) };
      const caller = await run([fixture('becomes-ready.mjs'), JSON.stringify({ pidFile, report })], env);
      expect(caller.code).toBe(0);
      const pid = pidIn(pidFile);
      expect(proc(pid).sid).not.toBe(pid);
      expect(isAlive(pid)).toBe(true);
      expect(environOf(pid).NOTIFY_SOCKET).toBeUndefined();
      expect(receiveUnixDatagram(socket)).toBeUndefined();
      await stopDaemon(pid);
    } finally {
      close(socket);
    }
  });

  it.each([
    ['an fs error', 'fails-with-errno.mjs', 'ERRNO=2'],
    ['a plain Error', 'fails-before-ready.mjs', undefined],
  ])("fail() under systemd sends the error's own errno: %s", async (_, program, errno) => {
    const address = `@x-daemon-test-errno-${process.pid}-${program}`;
    const socket = bindUnixDatagram(address);
    try {
      const service = asSystemdService(address, {}, program);
      expect((await service.exit()).code).toBe(1);
      const datagram = await waitFor(() => receiveUnixDatagram(socket)?.toString(), { message: 'STATUS on the socket' });
      const lines = datagram.split('\n');
      expect(lines.some((line) => line.startsWith('STATUS=failed: '))).toBe(true);
      expect(lines.filter((line) => line.startsWith('ERRNO='))).toEqual(errno === undefined ? [] : [errno]);
    } finally {
      close(socket);
    }
  });
});
