import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('importing @x/test-utils', () => {
  it('runs no probe: a requirement that cannot be met throws on CI only when it is first asked', () => {
    // With no unshare on PATH and CI=true, any probe run at import would throw "CI must be able to run".
    const script = `const t = await import('@x/test-utils');
      let threw = false;
      try { t.pidNamespaces.ok; } catch { threw = true; }
      console.log(JSON.stringify({ imported: true, threwOnUse: threw }));`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, PATH: '/nonexistent', CI: 'true' },
      cwd: import.meta.dirname,
    });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ imported: true, threwOnUse: true });
  });
});
