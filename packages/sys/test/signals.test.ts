import { spawnSync } from 'node:child_process';
import { signalExitCode } from '@x/sys';
import { describe, expect, it } from 'vitest';

describe('signalExitCode', () => {
  it.each(['SIGHUP', 'SIGINT', 'SIGKILL', 'SIGTERM', 'SIGUSR1'] as const)('gives the status sh reports for a child ended by %s', (signal) => {
    // The shell, not our arithmetic, says what $? is after its child dies of the signal.
    const result = spawnSync('sh', ['-c', `sh -c 'kill -${signal.slice(3)} $$'; echo $?`], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(signalExitCode(signal)).toBe(Number(result.stdout.trim()));
    expect(signalExitCode(signal.slice(3).toLowerCase())).toBe(Number(result.stdout.trim()));
  });

  it.each([0, 'SIGNOPE', 65])('refuses %j with a typed error', (signal) => {
    expect(() => signalExitCode(signal)).toThrow(expect.objectContaining({ code: 'ERR_X_INVALID_SIGNAL' }));
  });
});
