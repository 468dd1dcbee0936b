import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { descendantsOf, Fixture, pidExists, pidNamespaces, scratchDir, spawnInPidNamespace, stateOf, waitFor } from '@x/test-utils';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { npmProject, packTarballs } from './tarballs.js';

// The container guide's Dockerfiles, run as a container runtime would: the ENTRYPOINT + CMD (exec form)
// as PID 1 of a fresh PID namespace, in a project where the Dockerfile's `npm install` got our packed
// packages, with the Dockerfile's WORKDIR and ENV. Only the image build itself is left out.
const guide = fileURLToPath(new URL('../../../docs/containers/', import.meta.url));

interface Image {
  workdir: string;
  env: [string, string][];
  installs: string[];
  copies: string[];
  command: string[];
}

/** Reads what a container of this Dockerfile would run; throws on a shell-form ENTRYPOINT or CMD. */
function parseDockerfile(text: string): Image {
  const image: Image = { workdir: '/', env: [], installs: [], copies: [], command: [] };
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim());
  for (const line of lines) {
    const match = /^([A-Z]+)\s+(.*)$/.exec(line);
    if (!match || line.startsWith('#')) continue;
    const [, instruction, rest = ''] = match;
    const execForm = () => {
      if (!rest.startsWith('[')) throw new Error(`${instruction} is in shell form (${rest}): its process would be /bin/sh -c, not the program`);
      return JSON.parse(rest) as string[];
    };
    if (instruction === 'WORKDIR') image.workdir = rest;
    if (instruction === 'ENV') for (const pair of rest.split(/\s+/)) image.env.push(pair.split(/=(.*)/s, 2) as [string, string]);
    if (instruction === 'RUN' && /^npm install\b/.test(rest)) image.installs.push(...rest.split(/\s+/).slice(2).filter((word) => !word.startsWith('-')));
    if (instruction === 'COPY') image.copies.push(...rest.split(/\s+/).slice(0, -1));
    if (instruction === 'ENTRYPOINT') entrypoint = execForm();
    // As in Docker, CMD gives the arguments of an ENTRYPOINT; a later ENTRYPOINT resets nothing here.
    if (instruction === 'CMD') cmd = execForm();
  }
  image.command = [...entrypoint, ...cmd];
  return image;
}

describe('parseDockerfile', () => {
  it.each([
    ['ENTRYPOINT ["node", "server.mjs"]', ['node', 'server.mjs']],
    ['ENTRYPOINT ["x-reaper", "--"]\nCMD ["node", "server.mjs"]', ['x-reaper', '--', 'node', 'server.mjs']],
    ['CMD ["node", \\\n "a.mjs"]', ['node', 'a.mjs']],
  ])('runs the exec-form command of %j', (text, command) => {
    expect(parseDockerfile(text).command).toEqual(command);
  });

  it.each(['ENTRYPOINT node server.mjs', 'CMD node server.mjs'])('refuses the shell form %j', (text) => {
    expect(() => parseDockerfile(text)).toThrow(/shell form/);
  });
});

const work = scratchDir('x-container');
let tarballs: string[] = [];
let running: Fixture | undefined;

beforeAll(() => {
  if (pidNamespaces.ok) tarballs = packTarballs(join(work, 'tarballs'));
}, 240_000);

afterEach(async () => {
  // A failed run leaves the namespace up; --kill-child takes PID 1 (and with it the namespace) along.
  if (running && running.child.exitCode === null && running.child.signalCode === null) {
    running.child.kill('SIGKILL');
    await running.exit();
  }
  running = undefined;
});

/** Installs what the Dockerfile installs (our packages as packed tarballs) and copies its files into a fresh project. */
function build(image: Image, name: string, edit: (source: string) => string = (source) => source): string {
  const app = join(work, name);
  const wanted = new Set(image.installs);
  // Our packages depend on @x/sys; without its tarball npm would look for it in the registry.
  if ([...wanted].some((spec) => spec.startsWith('@x/'))) wanted.add('@x/sys');
  const specs = tarballs.filter((file) => [...wanted].some((spec) => basename(file).startsWith(`${spec.slice(1).replace('/', '-')}-`)));
  expect(specs).toHaveLength(wanted.size);
  const installed = npmProject(app, specs);
  if (installed.status !== 0) throw new Error(`npm install failed: ${installed.stderr}`);
  for (const file of image.copies) copyFileSync(join(guide, file), join(app, file));
  for (const file of image.copies) writeFileSync(join(app, file), edit(readFileSync(join(app, file), 'utf8')));
  return app;
}

/** The container's environment: node's image PATH (with this node first), the Dockerfile's ENV, WORKDIR mapped to `app`. */
function environment(image: Image, app: string, overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: Record<string, string> = { PATH: `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` };
  for (const [key, value] of image.env) {
    env[key] = value.replace(/\$(\w+)/g, (_, name: string) => env[name] ?? '').split(image.workdir).join(app);
  }
  // The leftover guard of vitest.setup.ts finds processes by this mark.
  if (process.env.X_TEST_GUARD !== undefined) env.X_TEST_GUARD = process.env.X_TEST_GUARD;
  return { ...env, ...overrides };
}

/** Pids of the namespace's PID 1, as this (outer) namespace numbers it, read from unshare's children list. */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'latin1').trim().split(' ')) if (child !== '') found.push(Number(child));
  }
  return found;
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').slice(0, -1);
  } catch {
    // Gone since the scan: nothing to describe.
    return [];
  }
}
const nspid = (pid: number) => /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1]?.split(/\s+/).map(Number) ?? [];
/** Every process of the namespace, PID 1 first, each with its /proc state. */
function namespace(pid1: number): { pid: number; state: string | undefined; command: string }[] {
  return [pid1, ...descendantsOf(pid1)]
    .map((pid) => ({ pid, state: stateOf(pid), command: cmdline(pid).join(' ') }))
    .filter(({ state }) => state !== undefined)
    .map((entry) => (entry.state === 'Z' ? { ...entry, command: '<zombie>' } : entry));
}

interface Run {
  exit: { code: number | null; signal: NodeJS.Signals | null };
  seen: number[];
  zombies: number;
}

/** Runs the image's command as PID 1, makes it leave `orphans` orphans, SIGTERMs PID 1 from outside. */
async function runContainer(image: Image, app: string, orphans: number): Promise<Run> {
  const [command, ...args] = image.command as [string, ...string[]];
  running = new Fixture(spawnInPidNamespace(command, args, { cwd: app, env: environment(image, app, { HOST: '127.0.0.1', PORT: '0' }) }), basename(command));
  const unshare = running;
  const listening = await unshare.nextLine(30_000);
  const port = Number(/^listening on http:\/\/127\.0\.0\.1:(\d+) /.exec(listening)?.[1]);
  expect(port, listening).toBeGreaterThan(0);
  const [pid1 = 0] = await waitFor(() => (childrenOf(unshare.pid).length === 1 ? childrenOf(unshare.pid) : undefined), { timeout: 10_000, message: 'unshare to have started PID 1' });

  // The kernel's account of PID 1: the namespace calls it 1, and it is the ENTRYPOINT's program.
  expect(nspid(pid1).at(-1)).toBe(1);
  expect(cmdline(pid1).slice(-args.length)).toEqual(args);
  expect(cmdline(pid1).slice(0, 2).map((word) => basename(word))).toContain(basename(command));

  const base = `http://127.0.0.1:${port}`;
  expect(await (await fetch(`${base}/`)).text()).toBe('ok\n');
  const exported = await fetch(`${base}/export?count=${orphans}`, { method: 'POST' });
  expect(exported.status).toBe(200);
  expect(await exported.json()).toMatchObject({ started: orphans });

  // Every orphan's `sleep` ends within 0.1 s; then the namespace holds the service and no zombie.
  const seen = new Set<number>([pid1]);
  let last = namespace(pid1);
  await waitFor(
    () => {
      last = namespace(pid1);
      for (const { pid } of last) seen.add(pid);
      return last.every(({ state, command: line }) => state !== 'Z' && !line.startsWith('sleep') && !line.startsWith('sh ')) ? last : undefined;
    },
    { timeout: 10_000, interval: 50, message: 'no orphan and no zombie left in the namespace' },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; the namespace holds:\n${last.map(({ pid, state, command: line }) => `${pid} ${state ?? '?'} ${line}`).join('\n')}`, { cause: error });
  });
  const zombies = namespace(pid1).filter(({ state }) => state === 'Z').length;

  process.kill(pid1, 'SIGTERM');
  // unshare exits with its child's status (or dies by the same signal), so this is PID 1's end.
  const exit = await unshare.exit(20_000);
  return { exit, seen: [...seen], zombies };
}

const dockerfiles = readdirSync(guide).filter((file) => file.startsWith('Dockerfile'));

describe.runIf(pidNamespaces.ok)(`the container guide's Dockerfiles as PID 1 of a PID namespace (${pidNamespaces.reason})`, () => {
  it('has both Dockerfiles the guide describes', () => {
    expect(dockerfiles.sort()).toEqual(['Dockerfile.reap', 'Dockerfile.x-reaper']);
  });

  it.each(dockerfiles)('%s: serves HTTP, reaps a burst of 100 orphans, and exits 0 on SIGTERM with nothing left', async (file) => {
    const image = parseDockerfile(readFileSync(join(guide, file), 'utf8'));
    const app = build(image, file.replace('Dockerfile.', ''));
    const { exit, seen, zombies } = await runContainer(image, app, 100);
    expect(zombies).toBe(0);
    expect(exit).toEqual({ code: 0, signal: null });
    // The namespace went down with its PID 1: not one process of it is left, not even a zombie.
    expect(seen.filter((pid) => pidExists(pid))).toEqual([]);
  }, 120_000);

  // The zero-zombie check above must be able to fail: the same server without reap() as PID 1 leaves one zombie per orphan.
  it('catches a PID 1 that does not reap: the same server without reap() keeps its orphans as zombies', async () => {
    const image = parseDockerfile(readFileSync(join(guide, 'Dockerfile.reap'), 'utf8'));
    const original = 'const reaper = reap();';
    const app = build(image, 'no-reap', (source) => {
      expect(source).toContain(original);
      return source.replace(original, "const reaper = { active: false, reaped: 0, on() {} }; void reap;");
    });
    await expect(runContainer(image, app, 20)).rejects.toThrow(/no orphan and no zombie left in the namespace[\s\S]*<zombie>/);
  }, 120_000);
});
