import { spawnSync } from 'node:child_process';
import * as lifecycle from '@x/lifecycle';
import * as daemon from '@x/daemon';
import * as parentdeath from '@x/parentdeath';
import * as pidfile from '@x/pidfile';
import * as procgroup from '@x/procgroup';
import * as reaper from '@x/reaper';
import * as sys from '@x/sys';
import { binPath } from '@x/test-utils';
import { describe, expect, it } from 'vitest';

describe('@x/lifecycle', () => {
  it('re-exports every package as a namespace, the very same functions', () => {
    expect(lifecycle.sys.waitpid).toBe(sys.waitpid);
    expect(lifecycle.parentdeath.monitor).toBe(parentdeath.monitor);
    expect(lifecycle.pidfile.acquire).toBe(pidfile.acquire);
    expect(lifecycle.procgroup.spawnGroup).toBe(procgroup.spawnGroup);
    expect(lifecycle.reaper.reap).toBe(reaper.reap);
    expect(lifecycle.daemon.daemonize).toBe(daemon.daemonize);
    expect(Object.keys(lifecycle.pidfile).sort()).toEqual(Object.keys(pidfile).sort());
  });

  it('exports the main functions by name', () => {
    expect(lifecycle.beParent).toBe(parentdeath.beParent);
    expect(lifecycle.acquire).toBe(pidfile.acquire);
    expect(lifecycle.spawnGroup).toBe(procgroup.spawnGroup);
    expect(lifecycle.killTree).toBe(procgroup.killTree);
    expect(lifecycle.reap).toBe(reaper.reap);
    expect(lifecycle.runForked).toBe(reaper.runForked);
    expect(lifecycle.daemonize).toBe(daemon.daemonize);
  });

  it.each(['x-sys', 'x-pidfile', 'x-reaper', 'x-daemon'])('ships the %s CLI', (bin) => {
    const result = spawnSync(process.execPath, [binPath(import.meta.url, '@x/lifecycle', bin), '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(bin === 'x-sys' ? 'x-sys doctor' : bin);
  });
});
