import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const packages = join(createRequire(import.meta.url).resolve('@x/lifecycle/package.json'), '..', '..');

/** The packages we publish, by folder. */
export const published = ['sys', 'parentdeath', 'pidfile', 'procgroup', 'reaper', 'daemon', 'lifecycle'];

/** Packs every published package with `pnpm pack` (what `pnpm publish` uploads) into `into`; returns the tarballs. */
export function packTarballs(into: string): string[] {
  for (const name of published) {
    const packed = spawnSync('pnpm', ['pack', '--pack-destination', into], { cwd: join(packages, name), encoding: 'utf8' });
    if (packed.status !== 0) throw new Error(`pnpm pack of ${name} failed: ${packed.stderr || packed.stdout}`);
  }
  return readdirSync(into).map((file) => join(into, file));
}

/** A fresh ESM project in `dir` with `specs` (tarballs, registry names) installed by npm, as a user would. */
export function npmProject(dir: string, specs: readonly string[]): { status: number | null; stderr: string } {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  return spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...specs], { cwd: dir, encoding: 'utf8' });
}
