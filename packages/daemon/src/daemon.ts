import { writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { debuglog } from 'node:util';
import type { PidFile } from '@x/pidfile';
import { messageOf } from './errors.js';
import { closeQuietly } from './open.js';
import type { Marker } from './stage.js';

const debug = debuglog('x:daemon');

/** The running daemon, as daemonize() returns it. */
export interface Daemon {
  readonly pid: number;
  /** The PID file, adopted from the original process, holding this pid. */
  readonly pidFile: PidFile | undefined;
  /** With `capture`: what this process writes to its stdout and stderr (unref'd streams). */
  readonly stdout: Readable | undefined;
  readonly stderr: Readable | undefined;
  /** The descriptors passed in `files`, as numbered in this process (same order). */
  readonly files: readonly number[];
  /** Tells the original process (or systemd, in the foreground under systemd) that the daemon is ready; it exits 0. */
  ready(status?: string): void;
  /** Tells the original process that starting failed (it ends the daemon's processes, prints the reason and exits 1); exits 1. */
  fail(error: unknown): never;
}

/** Tells the original process; false when it is gone (EPIPE) and nobody hears. */
function writeReport(fd: number, report: object): boolean {
  try {
    writeSync(fd, `${JSON.stringify(report)}\n`);
    return true;
  } catch (error) {
    debug('cannot report %j: %s', report, messageOf(error));
    return false;
  }
}

/** A captured stream: a pipe read through libuv, so that no thread blocks on it and exit never hangs. */
async function captured(fd: number | undefined): Promise<Readable | undefined> {
  if (fd === undefined) return undefined;
  // Loaded only with capture: every other daemon starts without it.
  const { Socket } = await import('node:net');
  const socket = new Socket({ fd, readable: true, writable: false });
  socket.unref();
  return socket;
}

/**
 * A daemon that failed before it was ready stays, blocked, until the caller that heard of it has ended
 * it and every process it started: alive, it still links its children (also those in sessions of
 * their own) to the tree the caller ends. Exits by itself after 5 s if the caller does not.
 */
function awaitEnd(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5000);
}

/**
 * The daemon stage: takes over what the original process handed down in `marker` (the report pipe,
 * the PID file, captured output, the caller's files) and reports to it once, ready or failed.
 */
export async function runDaemon(marker: Marker): Promise<Daemon> {
  const readyFd = marker.fds.ready;
  let reported = false;
  let lastError: unknown;
  const onError = (error: unknown) => {
    lastError = error;
  };
  const onExit = (code: number) => {
    if (reported) return;
    if (writeReport(readyFd, { pid: process.pid, failed: `it exited with code ${code} before it was ready${lastError === undefined ? '' : `: ${messageOf(lastError)}`}` })) awaitEnd();
  };
  process.on('uncaughtExceptionMonitor', onError);
  process.on('exit', onExit);
  const finish = () => {
    reported = true;
    process.off('uncaughtExceptionMonitor', onError);
    process.off('exit', onExit);
    closeQuietly(readyFd);
  };
  let pidFile: PidFile | undefined;
  try {
    process.chdir(marker.cwd);
    if (marker.pidFile !== undefined && marker.fds.pidFile !== undefined) {
      const { adopt } = await import('@x/pidfile');
      pidFile = adopt(marker.pidFile, marker.fds.pidFile);
    }
  } catch (error) {
    writeReport(readyFd, { pid: process.pid, failed: messageOf(error) });
    finish();
    process.exit(1);
  }
  return {
    pid: process.pid,
    pidFile,
    stdout: await captured(marker.fds.stdout),
    stderr: await captured(marker.fds.stderr),
    files: marker.fds.files,
    ready: () => {
      if (reported) return;
      // One report, with the pid: the caller is woken once, when there is something to decide.
      writeReport(readyFd, { pid: process.pid, ready: true });
      finish();
    },
    fail: (error) => {
      const told = !reported && writeReport(readyFd, { pid: process.pid, failed: messageOf(error) });
      finish();
      if (told) awaitEnd();
      process.exit(1);
    },
  };
}
