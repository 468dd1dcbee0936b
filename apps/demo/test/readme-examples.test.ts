import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { isAlive, scratchDir, startFixture, waitFor } from '@x/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { npmProject, packTarballs, published } from './tarballs.js';

// Every ```js block of every published README runs here, as a user would run it: in a fresh project
// with the packed packages installed. A block says how it is run in its fence's info string (renderers
// show only the language):
//   ```js example=exits                 runs to completion and exits 0
//   ```js example=serves                prints a line once it is up, then ends on SIGTERM
//   ```js example=daemon pidfile=/run/x.pid   the caller exits 0 and leaves a running daemon owning the PID file
//   ```js example=file name=server.mjs  not run: written beside the others, for them to use
//   args=a,b                            command-line arguments for the example
// Absolute paths under /run, /var/run and /var/log are rewritten into the example's own directory.

const work = scratchDir('x-readme');
const app = join(work, 'app');
const packages = join(createRequire(import.meta.url).resolve('@x/lifecycle/package.json'), '..', '..');

interface Example {
  readonly readme: string;
  readonly line: number;
  readonly code: string;
  readonly options: Record<string, string>;
}

/** The ```js blocks of a README, with the key=value options of their info strings. */
function examplesOf(readme: string, text: string): Example[] {
  const found: Example[] = [];
  const fence = /^```js([^\n]*)\n([\s\S]*?)^```$/gm;
  for (let match = fence.exec(text); match !== null; match = fence.exec(text)) {
    const options: Record<string, string> = {};
    for (const [, key, value] of (match[1] ?? '').matchAll(/(\w+)=("[^"]*"|\S+)/g)) options[key ?? ''] = (value ?? '').replace(/^"|"$/g, '');
    found.push({ readme, line: text.slice(0, match.index).split('\n').length, code: match[2] ?? '', options });
  }
  return found;
}

const examples = published.flatMap((name) => {
  const readme = join(packages, name, 'README.md');
  return examplesOf(`${name}/README.md`, readFileSync(readme, 'utf8'));
});

/** Points the absolute system paths of an example into `dir`. */
const rewrite = (code: string, dir: string) => code.replace(/(['"`])\/(?:var\/)?run\//g, `$1${dir}/run/`).replace(/(['"`])\/var\/log\//g, `$1${dir}/log/`);

beforeAll(() => {
  const installed = npmProject(app, packTarballs(join(work, 'tarballs')));
  if (installed.status !== 0) throw new Error(`npm install failed: ${installed.stderr}`);
}, 240_000);

/** A directory inside the project (so that imports resolve to what it installed) with the README's files. */
function exampleDir(example: Example, index: number): string {
  const dir = join(app, 'examples', `${example.readme.split('/')[0] ?? 'x'}-${index}`);
  for (const sub of ['run', 'log']) mkdirSync(join(dir, sub), { recursive: true });
  for (const file of examples.filter((other) => other.readme === example.readme && other.options.example === 'file')) {
    writeFileSync(join(dir, file.options.name ?? 'missing-name.mjs'), rewrite(file.code, dir));
  }
  writeFileSync(join(dir, 'example.mjs'), rewrite(example.code, dir));
  return dir;
}

describe('README examples', () => {
  it('every ```js block says how it is run', () => {
    expect(examples.filter((example) => !['exits', 'serves', 'daemon', 'file'].includes(example.options.example ?? '')).map(({ readme, line }) => `${readme}:${line}`)).toEqual([]);
  });

  const runnable = examples.map((example, index) => ({ example, index, name: `${example.readme}:${example.line} (${example.options.example ?? '?'})` })).filter(({ example }) => example.options.example !== 'file');

  it.each(runnable)('$name', async ({ example, index }) => {
    const dir = exampleDir(example, index);
    const run = startFixture(join(dir, 'example.mjs'), (example.options.args ?? '').split(',').filter(Boolean), { cwd: dir });
    switch (example.options.example) {
      case 'exits':
        expect(await run.exit(30_000), run.stderr).toEqual({ code: 0, signal: null });
        break;
      case 'serves': {
        await run.nextLine(20_000);
        run.child.kill('SIGTERM');
        const exit = await run.exit(10_000);
        expect(exit.code === 0 || exit.signal === 'SIGTERM', `${JSON.stringify(exit)} ${run.stderr}`).toBe(true);
        break;
      }
      case 'daemon': {
        expect(await run.exit(30_000), run.stderr).toEqual({ code: 0, signal: null });
        const pidFile = rewrite(`'${example.options.pidfile ?? ''}'`, dir).slice(1, -1);
        const pid = Number(readFileSync(pidFile, 'latin1'));
        // The kernel, not the example, says the daemon runs.
        expect(isAlive(pid), `daemon ${pid} from ${pidFile}`).toBe(true);
        process.kill(pid, 'SIGTERM');
        await waitFor(() => !isAlive(pid), { timeout: 15_000, message: `the example's daemon ${pid} to stop on SIGTERM` });
        break;
      }
      default:
        run.child.kill('SIGKILL');
        throw new Error(`${example.readme}:${example.line} does not say how it is run (example=exits|serves|daemon|file)`);
    }
    // Whatever the example started is gone (the file's guard fails the file otherwise).
    expect(readdirSync(dir)).toContain('example.mjs');
  });
});
