import { spawnSync } from 'node:child_process';

const cache = new Map<string, string | undefined>();
let updated = false;

const found = (binary: string) => spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;

/**
 * Makes sure a peer that comes from Debian rather than npm is installed: when `binary` is missing and
 * we are root, installs `pkg` with apt-get. Returns undefined when it is there, or why it is not.
 */
export function ensureDebianPackage(pkg: string, binary = pkg): string | undefined {
  if (cache.has(pkg)) return cache.get(pkg);
  let reason: string | undefined;
  if (!found(binary)) {
    if (process.getuid?.() !== 0) reason = `${binary} is not installed and installing ${pkg} needs root`;
    else {
      const install = () => spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', pkg], { encoding: 'utf8' });
      let result = install();
      if (result.status !== 0 && !updated) {
        updated = true;
        spawnSync('apt-get', ['update', '-q'], { encoding: 'utf8' });
        result = install();
      }
      if (!found(binary)) reason = `apt-get install ${pkg} failed: ${(result.stderr || result.error?.message || '').trim().split('\n').pop() ?? ''}`;
    }
  }
  cache.set(pkg, reason);
  return reason;
}

/** The version Debian reports for an installed package, or 'not installed'. */
export function debianVersion(pkg: string): string {
  const result = spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : 'not installed';
}
