// Every publishable package ships one bundled ESM file per entry point (index, and the CLI where it has
// one): a multi-file package costs ~1 ms per module to import, and children import these at start-up.
// It empties dist first; declarations come from tsc (--emitDeclarationOnly) afterwards. Run from the package directory.
// Entries are named, not derived from `bin`: the bins are committed shims (bin/*.js) that import
// dist/cli.js, so that installing can link them before anything is built.
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { defineConfig } from 'rolldown';

const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const dependencies = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies });
// index: the package; cli: its command, where it has one; bin: @x/lifecycle's runner of the others'.
const entries = Object.fromEntries(['index', 'cli', 'bin'].filter((name) => existsSync(`src/${name}.ts`)).map((name) => [name, `src/${name}.ts`]));

export default defineConfig({
  input: entries,
  platform: 'node',
  external: (id) =>
    id.startsWith('node:') ||
    builtinModules.includes(id) ||
    dependencies.some((dependency) => id === dependency || id.startsWith(`${dependency}/`)),
  output: { dir: 'dist', cleanDir: true, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
});
