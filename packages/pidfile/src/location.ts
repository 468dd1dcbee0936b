import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PidFileError } from './errors.js';

const writable = (directory: string): boolean => {
  try {
    accessSync(directory, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * Where a program called `name` keeps its PID file: `/run/<name>.pid` when /run is writable (root,
 * system services), else `$XDG_RUNTIME_DIR/<name>.pid` (a user's session), else `<tmpdir>/<name>.pid`.
 */
export function defaultPath(name: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.@+-]+$/.test(name) || name === '.' || name === '..') {
    throw new PidFileError('ERR_PIDFILE_BAD_NAME', name, `a PID file name must be a plain file name such as "my-daemon", got ${JSON.stringify(name)}`);
  }
  const runtime = process.env.XDG_RUNTIME_DIR;
  const directory = writable('/run') ? '/run' : runtime !== undefined && runtime.startsWith('/') && writable(runtime) ? runtime : tmpdir();
  return join(directory, `${name}.pid`);
}
