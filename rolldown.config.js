// Every publishable package ships one bundled ESM file per entry point (index, and the CLI where it has
// one): a multi-file package costs ~1 ms per module to import, and children import these at start-up.
// It empties dist first; declarations come from tsc (--emitDeclarationOnly) afterwards. Run from the package directory.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { defineConfig } from 'rolldown';

const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const dependencies = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies });
const bins = Object.values(typeof manifest.bin === 'string' ? { main: manifest.bin } : (manifest.bin ?? {}));
const entries = Object.fromEntries(
  ['./dist/index.js', ...bins].map((output) => {
    const name = output.replace(/^\.\/dist\//, '').replace(/\.js$/, '');
    return [name, `src/${name}.ts`];
  }),
);

export default defineConfig({
  input: entries,
  platform: 'node',
  external: (id) =>
    id.startsWith('node:') ||
    builtinModules.includes(id) ||
    dependencies.some((dependency) => id === dependency || id.startsWith(`${dependency}/`)),
  output: { dir: 'dist', cleanDir: true, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
});
