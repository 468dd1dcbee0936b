import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { notify } from '@x/daemon';
import { bindUnixDatagram, close, receiveUnixDatagram } from '@x/sys';
import { isAlive, scratchDir, waitFor } from '@x/test-utils';
import { describe, expect, it } from 'vitest';
import { fixture, run } from './helpers.js';

const dir = scratchDir('x-daemon');

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

  it.each(['abstract', 'path'])('under systemd (a %s NOTIFY_SOCKET), daemonize does not fork and ready() sends READY=1 with MAINPID', async (kind) => {
    const address = kind === 'abstract' ? `@x-daemon-test-${process.pid}` : join(dir, 'notify.sock');
    const socket = bindUnixDatagram(address);
    const report = join(dir, `report-${kind}`);
    try {
      const caller = run([fixture('daemon.mjs'), JSON.stringify({ report })], { ...process.env, NOTIFY_SOCKET: address });
      const datagram = await waitFor(() => receiveUnixDatagram(socket)?.toString(), { message: 'READY=1 on the socket' });
      const { pid, stage } = JSON.parse(readFileSync(report, 'utf8')) as { pid: number; stage: string };
      expect(stage).toBe('daemon');
      expect(datagram.split('\n').sort()).toEqual(['MAINPID=' + String(pid), 'READY=1', 'STATUS=serving'].sort());
      // Not forked: the process systemd started is the daemon itself, still running.
      expect(isAlive(pid)).toBe(true);
      process.kill(pid, 'SIGTERM');
      expect((await caller).code).toBe(null);
    } finally {
      close(socket);
    }
  });
});
