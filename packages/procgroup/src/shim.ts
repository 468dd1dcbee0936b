import type { ChildProcess, SpawnOptions, StdioOptions } from 'node:child_process';
import type { Writable } from 'node:stream';
import { debuglog } from 'node:util';
import type { CgroupLeaf } from './cgroup.js';
import { ProcGroupError } from './errors.js';
import { send } from './send.js';

const debug = debuglog('x:procgroup');
const SIGKILL = 9;

/** What to spawn in place of the command, and the descriptor of the gate the shim waits on. */
export interface Shimmed {
  readonly file: string;
  readonly args: string[];
  readonly options: SpawnOptions;
  readonly gate: number;
}

/**
 * For cgroup containment: a /bin/sh shim that waits on a pipe (the gate, one stdio entry after the
 * caller's) until we, the privileged side, have moved it into the leaf — it may run as another user by
 * then — and only then execs the command: nothing the command starts is ever outside the leaf.
 */
export function shimmed(command: string, args: readonly string[], options: SpawnOptions): Shimmed {
  const { shell } = options;
  const target = shell === undefined || shell === false ? [command, ...args] : [typeof shell === 'string' ? shell : '/bin/sh', '-c', [command, ...args].join(' ')];
  const stdio = stdioList(options.stdio);
  const gate = stdio.length;
  return {
    file: '/bin/sh',
    args: ['-c', `read -r go <&${gate} || exit 125; exec "$@" ${gate}<&-`, 'x-procgroup-shim', ...target],
    options: { ...options, stdio: [...stdio, 'pipe'], shell: false },
    gate,
  };
}

/** `stdio` as a list of at least the three standard entries (undefined ones mean 'pipe', as in spawn). */
function stdioList(stdio: StdioOptions | undefined): Exclude<StdioOptions, string> {
  const list: Exclude<StdioOptions, string> = stdio === undefined ? [] : typeof stdio === 'string' ? [stdio, stdio, stdio] : [...stdio];
  while (list.length < 3) list.push(undefined);
  return list;
}

/**
 * Moves the waiting shim (`child`) into the leaf, then lets it exec the command through the gate. When
 * the move fails the command is not run: the shim is killed and `child` emits ERR_PROCGROUP_NO_CGROUP.
 */
export function admit(child: ChildProcess, leaf: CgroupLeaf, gate: number): void {
  const pid = child.pid as number;
  const pipe = child.stdio[gate] as Writable;
  // The gate is a socket pair: the shim closing its end (exec, exit) must not reach us as an error.
  pipe.on('error', (error) => {
    debug('group %d: gate: %s', pid, error.message);
  });
  leaf.adopt(pid).then(
    () => {
      pipe.end('\n', () => pipe.destroy());
    },
    (error: unknown) => {
      pipe.destroy();
      // Ended before it could be moved (terminate() right after spawning): nothing to report.
      if (child.exitCode !== null || child.signalCode !== null || (error as NodeJS.ErrnoException).code === 'ESRCH') return;
      send(pid, SIGKILL);
      debug('group %d: cannot move it into %s: %s', pid, leaf.directory, (error as Error).message);
      child.emit(
        'error',
        new ProcGroupError('ERR_PROCGROUP_NO_CGROUP', `cannot move the command into the cgroup ${leaf.directory} (${(error as Error).message}); it was not run`, {
          cause: error,
        }),
      );
    },
  );
}
