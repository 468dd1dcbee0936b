// @x/daemon and x-daemon under a real systemd: a minimal Debian bookworm booted in systemd-nspawn
// (.ci/systemd/), checked with its own systemctl and journalctl. Each boot takes seconds and the first
// build of the root file system minutes, so this file runs only when X_TEST_SYSTEMD=1 (CI's systemd
// stage runs it once); as root on Linux, and there it must run.
import { randomUUID } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requirement, scratchDir, startFixture, waitFor, type Fixture, type Requirement } from '@x/test-utils';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const scripts = join(repo, '.ci', 'systemd');
const fixtures = fileURLToPath(new URL('./fixtures/systemd/', import.meta.url));
const shippedUnit = join(repo, 'docs', 'systemd', 'x-daemon@.service');

const systemd: Requirement =
  process.env.X_TEST_SYSTEMD === '1'
    ? requirement('systemd in systemd-nspawn', () => (process.getuid?.() === 0 ? undefined : 'booting a container needs root'))
    : { ok: false, reason: 'skipped: set X_TEST_SYSTEMD=1 to boot systemd containers (CI does, once, in its systemd stage)' };

// Made at the top level: a skipped describe block would never run the afterAll that removes it.
const work = systemd.ok ? scratchDir('x-systemd') : '';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Proc {
  pid: number;
  state: string;
  ppid: number;
  sid: number;
  start: string;
  argv: string[];
}

/** The booted container: commands run inside it through .ci/systemd/in, files are reached through /proc/PID1/root. */
class Container {
  constructor(readonly pid1: number) {}

  /** `path` of the container, as the host reaches it. */
  at(path: string): string {
    return `/proc/${this.pid1}/root${path}`;
  }

  spawn(args: readonly string[]): Fixture {
    return startFixture(join(scripts, 'in'), [String(this.pid1), ...args]);
  }

  async run(args: readonly string[], timeout = 30_000): Promise<Run> {
    const running = this.spawn(args);
    const { code } = await running.exit(timeout);
    return { code, stdout: running.stdout, stderr: running.stderr };
  }

  /** `systemctl show` of the properties named, as an object. */
  async show(unit: string, ...properties: string[]): Promise<Record<string, string>> {
    const shown = await this.run(['systemctl', 'show', unit, ...properties.flatMap((name) => ['-p', name])]);
    expect(shown.code, shown.stderr).toBe(0);
    return Object.fromEntries(shown.stdout.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  }

  /** What the container's kernel view (its /proc) says about `pid`, or undefined when it does not exist. */
  proc(pid: number): Proc | undefined {
    try {
      const stat = readFileSync(this.at(`/proc/${pid}/stat`), 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const argv = readFileSync(this.at(`/proc/${pid}/cmdline`), 'latin1').split('\0').slice(0, -1);
      return { pid, state: fields[0] ?? '?', ppid: Number(fields[1]), sid: Number(fields[3]), start: fields[19] ?? '?', argv };
    } catch {
      return undefined;
    }
  }

  /** Every live process of the container, keyed by pid and start time (so a reused pid counts as new). */
  processes(): Map<string, Proc> {
    const found = new Map<string, Proc>();
    for (const name of readdirSync(this.at('/proc'))) {
      if (!/^\d+$/.test(name)) continue;
      const proc = this.proc(Number(name));
      if (proc !== undefined && proc.state !== 'Z') found.set(`${proc.pid}@${proc.start}`, proc);
    }
    return found;
  }

  /** Processes alive now that were not in `before`. */
  newSince(before: Map<string, Proc>): string[] {
    return [...this.processes()].filter(([key]) => !before.has(key)).map(([, proc]) => `${proc.pid} ${proc.argv.join(' ')}`);
  }

  /** Installs a unit file and makes systemd read it; stops and forgets the unit after the test. */
  async install(unit: string, text: string): Promise<void> {
    writeFileSync(this.at(`/etc/systemd/system/${unit}`), text);
    await this.reload();
    onTestFinished(async () => {
      await this.run(['systemctl', 'stop', unit], 120_000);
      await this.run(['systemctl', 'reset-failed', unit]);
    });
  }

  async reload(): Promise<void> {
    const reloaded = await this.run(['systemctl', 'daemon-reload'], 60_000);
    expect(reloaded.code, reloaded.stderr).toBe(0);
  }

  /** A fresh directory of the container for one test, /run/x-test/NAME. */
  scratch(name: string): string {
    const path = `/run/x-test/${name}`;
    rmSync(this.at(path), { recursive: true, force: true });
    mkdirSync(this.at(path), { recursive: true });
    return path;
  }

  read(path: string): string | undefined {
    try {
      return readFileSync(this.at(path), 'utf8');
    } catch {
      return undefined;
    }
  }
}

const mounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => /x-lifecycle-ci|x-systemd/.test(line));

/** A Type=notify unit running a fixture with node. */
const notifyUnit = (fixture: string, args: string, extra = '') => `[Service]
Type=notify
NotifyAccess=main
ExecStart=/usr/local/bin/node /opt/app/fixtures/${fixture} ${args}
TimeoutStartSec=60
TimeoutStopSec=30
${extra}`;

describe.runIf(systemd.ok)(`@x/daemon under systemd (${systemd.reason})`, () => {
  let container: Container;
  let booted: Fixture | undefined;
  let mountsBefore: string[];

  beforeAll(async () => {
    mountsBefore = mounts();
    // Builds the root file system on the first run (minutes), then only finds it.
    const rootfs = startFixture(join(scripts, 'rootfs'));
    expect((await rootfs.exit(1_500_000)).code, rootfs.stderr).toBe(0);
    const app = join(work, 'app');
    const installed = startFixture(join(scripts, 'app'), [app]);
    expect((await installed.exit(600_000)).code, installed.stderr).toBe(0);
    cpSync(fixtures, join(app, 'fixtures'), { recursive: true });
    for (const file of readdirSync(join(app, 'fixtures'))) chmodSync(join(app, 'fixtures', file), 0o755);
    // The boot script powers the container off when this process dies, however it dies.
    const boot = (booted = startFixture('setpriv', ['--pdeathsig', 'TERM', '--', join(scripts, 'boot'), rootfs.stdout.trim(), app, join(work, 'console.log')]));
    const line = await boot.nextLine(180_000);
    const pid1 = Number(/^pid1 (\d+)$/.exec(line)?.[1]);
    expect(pid1, `boot printed ${line}; ${boot.stderr}`).toBeGreaterThan(1);
    container = new Container(pid1);

    // x-daemon where the shipped unit expects it, and the commands it runs there (/usr/local/bin/%i).
    symlinkSync('/opt/app/node_modules/.bin/x-daemon', container.at('/usr/local/bin/x-daemon'));
    for (const [name, fixture] of [
      ['x-sleeper', 'sleeper.sh'],
      ['x-http', 'http-server.mjs'],
      ['x-stubborn', 'ignores-sigterm.sh'],
    ] as const) {
      symlinkSync(`/opt/app/fixtures/${fixture}`, container.at(`/usr/local/bin/${name}`));
    }
    writeFileSync(container.at('/etc/systemd/system/x-daemon@.service'), readFileSync(shippedUnit));
    await container.reload();
    // Nothing else may start processes while tests compare the container's process lists.
    const timers = await container.run(['systemctl', 'list-units', '--type=timer', '--all', '--plain', '--no-legend']);
    const quiet = await container.run(['systemctl', 'stop', 'cron.service', ...timers.stdout.split('\n').map((line) => line.split(' ')[0] ?? '').filter((unit) => unit.endsWith('.timer'))]);
    expect(quiet.code, quiet.stderr).toBe(0);
  }, 2_400_000);

  afterAll(async () => {
    if (booted === undefined) return;
    booted.child.kill('SIGTERM');
    const { code } = await booted.exit(60_000);
    // 143: it powered the container off because it was told to, not because the container died early.
    expect(code, booted.stderr).toBe(143);
    expect(mounts(), 'mounts left on the host').toEqual(mountsBefore);
  }, 90_000);

  describe('Type=notify with daemonize() and ready()', () => {
    it('`systemctl start` returns only after ready(), MainPID is the node process, and stop leaves it inactive with nothing running', async () => {
      const unit = 'x-ready.service';
      const dir = container.scratch('ready');
      await container.install(unit, notifyUnit('ready-on-gate.mjs', dir));
      const before = container.processes();
      const start = container.spawn(['systemctl', 'start', unit]);
      const waiting = Number(await waitFor(() => container.read(`${dir}/waiting`), { timeout: 30_000, message: 'the service to wait at its readiness gate' }));

      // Up and waiting to call ready(): systemd knows the process, but the start job is not done.
      expect(await container.show(unit, 'ActiveState', 'MainPID')).toEqual({ ActiveState: 'activating', MainPID: String(waiting) });
      expect(start.child.exitCode, 'systemctl start returned before ready()').toBeNull();

      writeFileSync(container.at(`${dir}/gate`), '');
      expect((await start.exit(30_000)).code, start.stderr).toBe(0);
      const { MainPID } = await container.show(unit, 'MainPID');
      expect(await container.show(unit, 'ActiveState', 'SubState')).toEqual({ ActiveState: 'active', SubState: 'running' });
      expect(Number(MainPID)).toBe(waiting);
      expect(container.proc(waiting)?.argv).toEqual(['/usr/local/bin/node', '/opt/app/fixtures/ready-on-gate.mjs', dir]);

      const stop = await container.run(['systemctl', 'stop', unit], 60_000);
      expect(stop.code, stop.stderr).toBe(0);
      expect(await container.show(unit, 'ActiveState', 'Result', 'MainPID')).toEqual({ ActiveState: 'inactive', Result: 'success', MainPID: '0' });
      expect(container.proc(waiting)).toBeUndefined();
      expect(container.newSince(before)).toEqual([]);
    }, 120_000);

    it.each([
      ['fails-before-ready.mjs', 'daemon.fail()'],
      ['throws-before-ready.mjs', 'a throw'],
    ])('%s: %s before ready() fails `systemctl start`, the unit is failed and the journal has the message', async (fixture) => {
      const unit = `x-${fixture.replace('.mjs', '')}.service`;
      const message = `cannot open the spool ${randomUUID()}`;
      await container.install(unit, notifyUnit(fixture, `"${message}"`));
      const before = container.processes();

      const start = await container.run(['systemctl', 'start', unit], 60_000);
      expect(start.code, 'systemctl start succeeded for a service that failed').not.toBe(0);
      expect(await container.show(unit, 'ActiveState', 'Result')).toEqual({ ActiveState: 'failed', Result: 'exit-code' });
      // journald may file the last lines a moment after the unit failed.
      await waitFor(async () => (await container.run(['journalctl', '-u', unit, '--no-pager', '-o', 'cat'])).stdout.includes(message), {
        timeout: 10_000,
        interval: 200,
        message: `"${message}" in journalctl -u ${unit}`,
      });
      // An error without an errno gives systemd none ("send the error's own errno, or none").
      expect(await container.show(unit, 'StatusErrno')).toEqual({ StatusErrno: '0' });
      expect(container.newSince(before)).toEqual([]);
    }, 120_000);

    it('fail() with a system error (EADDRINUSE) fails the unit and gives systemd that errno or none, never EPERM', async () => {
      const unit = 'x-port-taken.service';
      await container.install(unit, notifyUnit('port-taken.mjs', ''));
      const start = await container.run(['systemctl', 'start', unit], 60_000);
      expect(start.code).not.toBe(0);
      expect(await container.show(unit, 'ActiveState')).toEqual({ ActiveState: 'failed' });
      await waitFor(async () => (await container.run(['journalctl', '-u', unit, '--no-pager', '-o', 'cat'])).stdout.includes('EADDRINUSE'), {
        timeout: 10_000,
        interval: 200,
        message: `EADDRINUSE in journalctl -u ${unit}`,
      });
      const { StatusErrno } = await container.show(unit, 'StatusErrno');
      // 98 is EADDRINUSE on Linux; 1 (EPERM, "Operation not permitted") would be a lie.
      expect(['0', '98']).toContain(StatusErrno);
    }, 120_000);
  });

  describe('the shipped x-daemon@.service (Type=forking)', () => {
    it.each([
      ['x-sleeper', ['/bin/sleep', 'infinity']],
      ['x-http', ['/usr/local/bin/node', '/usr/local/bin/x-http']],
    ])('%s: MainPID is the command itself, and `systemctl stop` leaves the unit inactive (not failed) and nothing running', async (name, argv) => {
      const unit = `x-daemon@${name}.service`;
      onTestFinished(async () => {
        await container.run(['systemctl', 'stop', unit], 120_000);
        await container.run(['systemctl', 'reset-failed', unit]);
      });
      const before = container.processes();
      const start = await container.run(['systemctl', 'start', unit], 90_000);
      expect(start.code, start.stderr).toBe(0);
      const { MainPID } = await container.show(unit, 'MainPID');
      const main = Number(MainPID);
      // Soft: whatever systemd follows, stop must still end everything (checked below).
      expect.soft(container.proc(main)?.argv, `MainPID ${main} is not the command`).toEqual(argv);
      expect.soft(container.read(`/run/${name}.pid`)?.trim(), 'the PID file does not name MainPID').toBe(MainPID);
      if (name === 'x-http') {
        const answer = await container.run(['node', '-e', "fetch('http://127.0.0.1:8080/').then(async (r) => console.log(await r.text()))"]);
        const [server, worker] = answer.stdout.trim().split(' ').map(Number);
        expect.soft(server, `the server answering is not MainPID ${main}: ${answer.stderr}`).toBe(main);
        expect(container.proc(worker ?? 0)?.ppid, 'the server has no worker').toBe(server);
      }

      const stop = await container.run(['systemctl', 'stop', unit], 90_000);
      expect(stop.code, stop.stderr).toBe(0);
      expect.soft(await container.show(unit, 'ActiveState', 'Result')).toEqual({ ActiveState: 'inactive', Result: 'success' });
      expect(container.newSince(before)).toEqual([]);
    }, 180_000);

    it('x-stubborn: a command that ignores SIGTERM is stopped within the unit\'s --timeout, leaving nothing', async () => {
      const unit = 'x-daemon@x-stubborn.service';
      const shipped = readFileSync(shippedUnit, 'utf8');
      // x-daemon stop's --timeout in ExecStop= (its default is 10 s), and systemd's own (default 90 s).
      const timeout = Number(/^ExecStop=.*--timeout[ =](\d+)/m.exec(shipped)?.[1] ?? 10);
      const systemdTimeout = Number(/^TimeoutStopSec=(\d+)s?$/m.exec(shipped)?.[1] ?? 90);
      // Well past --timeout, and before systemd's own escalation could have ended it instead.
      const bound = timeout + Math.min(10, (systemdTimeout - timeout) / 2);
      onTestFinished(async () => {
        await container.run(['systemctl', 'kill', '-s', 'KILL', unit]);
        await container.run(['systemctl', 'stop', unit], 120_000);
        await container.run(['systemctl', 'reset-failed', unit]);
      });
      const before = container.processes();
      const start = await container.run(['systemctl', 'start', unit], 90_000);
      expect(start.code, start.stderr).toBe(0);
      // The command itself, found by the kernel's process list rather than by what systemd follows.
      const command = [...container.processes()].find(([key, proc]) => !before.has(key) && proc.argv.join(' ') === '/bin/sleep infinity')?.[1];
      expect(command, 'the command is not running').toBeDefined();
      const status = readFileSync(container.at(`/proc/${command?.pid ?? 0}/status`), 'utf8');
      // It really ignores SIGTERM (signal 15 is bit 14 of SigIgn), or this test proves nothing.
      expect(BigInt(`0x${/^SigIgn:\s*(\w+)/m.exec(status)?.[1] ?? '0'}`) & (1n << 14n)).toBe(1n << 14n);

      const began = performance.now();
      const stop = await container.run(['systemctl', 'stop', unit], (timeout + 200) * 1000);
      const took = (performance.now() - began) / 1000;
      expect(stop.code, stop.stderr).toBe(0);
      expect(took, `stop took ${took.toFixed(1)} s with --timeout ${timeout} (TimeoutStopSec ${systemdTimeout})`).toBeLessThan(bound);
      // x-daemon stop killed it, not systemd after its own timeout.
      const journal = await container.run(['journalctl', '-u', unit, '--no-pager', '-o', 'cat']);
      expect(journal.stdout).not.toMatch(/timed out|Killing process/);
      expect(['inactive', 'failed']).toContain((await container.show(unit, 'ActiveState')).ActiveState);
      expect(container.newSince(before)).toEqual([]);
    }, 400_000);
  });

  describe('a child of a Type=notify service that daemonizes', () => {
    it.each([
      ['x-daemon start', (dir: string) => `/usr/local/bin/x-daemon start --pidfile ${dir}/daemon.pid -- /bin/sleep infinity`],
      ['daemonize()', (dir: string) => `/usr/local/bin/node /opt/app/fixtures/daemonizes.mjs ${dir}/daemon.pid`],
    ])('%s: daemonizes normally, and the service is not reported started before its own ready()', async (name, command) => {
      const unit = `x-parent-${name.startsWith('x-daemon') ? 'cli' : 'api'}.service`;
      const dir = container.scratch(unit);
      // NotifyAccess=all: a READY=1 from any process of the service would count.
      await container.install(unit, notifyUnit('spawns-daemonizer.mjs', `${dir} ${command(dir)}`).replace('NotifyAccess=main', 'NotifyAccess=all'));
      const before = container.processes();
      const start = container.spawn(['systemctl', 'start', unit]);
      const report = await waitFor(() => container.read(`${dir}/child`), { timeout: 40_000, interval: 50, message: `the service to report how ${name} ended` });
      const child = JSON.parse(report) as { pid: number; code: number | null; signal: string | null; output: string; stillRunning: boolean };

      const state = await container.show(unit, 'ActiveState', 'MainPID');
      expect.soft(state.ActiveState, 'the service was reported started before it called ready()').toBe('activating');
      expect.soft(start.child.exitCode, 'systemctl start returned before the service called ready()').toBeNull();
      const main = container.proc(Number(state.MainPID));
      expect.soft(main?.argv[1], `MainPID ${state.MainPID} is not the service's own process`).toBe('/opt/app/fixtures/spawns-daemonizer.mjs');
      expect(child, `${name} did not daemonize and return: ${child.output}`).toMatchObject({ stillRunning: false, code: 0 });
      const daemonPid = Number(container.read(`${dir}/daemon.pid`)?.trim());
      const daemon = container.proc(daemonPid);
      expect(daemon, `the daemon ${daemonPid} named by its PID file is not running`).toBeDefined();
      // Detached as a daemon is: its own session, re-parented to init.
      expect(daemon?.sid).not.toBe(main?.sid);
      expect(daemon?.ppid).toBe(1);

      writeFileSync(container.at(`${dir}/gate`), '');
      expect((await start.exit(30_000)).code, start.stderr).toBe(0);
      expect(await container.show(unit, 'ActiveState', 'MainPID')).toEqual({ ActiveState: 'active', MainPID: state.MainPID });
      const stop = await container.run(['systemctl', 'stop', unit], 60_000);
      expect(stop.code, stop.stderr).toBe(0);
      expect(container.newSince(before)).toEqual([]);
    }, 180_000);
  });
});
