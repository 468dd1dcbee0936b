import { flock } from '@x/sys';
import { PidFileError, PidFileLockedError } from './errors.js';
import { stillNamed } from './file.js';
import { Held, pidIn, type PidFile } from './held.js';
import { resolveAdoptOptions, type AdoptOptions } from './options.js';

export type { AdoptOptions } from './options.js';

/**
 * Takes over a PID file whose locked file this process inherited as `fd` — the hand-over from a parent
 * that acquired it (a daemon's original process) to the process that now owns it. Checks that `fd` is
 * the file at `path` and that its lock is held through it, then writes `pid` into it. The lock never
 * lapses on the way: the open file, with its lock, was passed along.
 */
export function adopt(path: string, fd: number, options: AdoptOptions = {}): PidFile {
  const { pid, removeOnExit } = resolveAdoptOptions(options);
  let named: boolean;
  try {
    named = stillNamed(path, fd);
  } catch (error) {
    throw new PidFileError('ERR_PIDFILE_NOT_A_FILE', path, `fd ${fd} is not an open file: ${(error as Error).message}`, { cause: error });
  }
  if (!named) throw new PidFileError('ERR_PIDFILE_NOT_A_FILE', path, `fd ${fd} is not the file at ${path} (it was replaced or removed)`);
  // Taking a lock this open file already holds succeeds; anyone else's lock makes it fail.
  if (!flock(fd, 'exclusive')) throw new PidFileLockedError(path, pidIn(fd));
  const held = new Held(path, pid, fd, 'flock', removeOnExit, false);
  held.update(pid);
  return held;
}
