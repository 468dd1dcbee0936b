import type { ChildProcess, StdioOptions } from 'node:child_process';

/**
 * The session leader between the caller and the daemon, in plain sh so that no second Node has to
 * start. It runs the inner script in the foreground (an `&` job would start with SIGINT and SIGQUIT
 * ignored, and keep them ignored across exec); the inner script kills this leader at once, so the
 * daemon is re-parented and stays in the new session without leading it.
 */
const LEADER = '/bin/sh -c "$0" x-daemon "$@"; exit 1';

/**
 * The daemon-to-be: leaves its session leader, sets cwd and umask, reports its pid on fd 3 and becomes
 * the command. Arguments: cwd, umask (octal), flags, command... Flags: `c` close fd 3 in the command,
 * `n` set SYSTEMD_EXEC_PID to its own pid (the caller's notify socket is the command's).
 */
const DAEMON = `kill -KILL "$PPID"
cd -- "$1" 2>/dev/null || { echo '{"stage":"cwd"}' >&3; exit 126; }
umask "$2" || { echo '{"stage":"umask"}' >&3; exit 126; }
f=$3
shift 3
case $1 in
*/*) [ -f "$1" ] && [ -x "$1" ] ;;
*) command -v "$1" >/dev/null 2>&1 ;;
esac || { echo '{"stage":"exec"}' >&3; exit 127; }
case $f in *n*) SYSTEMD_EXEC_PID=$$; export SYSTEMD_EXEC_PID ;; esac
echo "{\\"started\\":$$}" >&3
case $f in *c*) exec "$@" 3>&- ;; *) exec "$@" ;; esac`;

/**
 * For daemonize(), whose daemon is Node: Node resets the signal dispositions a background job starts with,
 * so the session leader can start it in the background and leave, one shell fewer. The daemon learns
 * the session (X_DAEMON_STAGE_SID) to check that the stage marker is meant for it, and reports for
 * itself (the caller is woken once, by ready or failure). Arguments: cwd, umask (octal), flags
 * (unused), command...
 */
const NODE_DAEMON = `cd -- "$1" 2>/dev/null || { echo '{"stage":"cwd"}' >&3; exit 126; }
umask "$2" || { echo '{"stage":"umask"}' >&3; exit 126; }
shift 3
[ -f "$1" ] && [ -x "$1" ] || { echo '{"stage":"exec"}' >&3; exit 127; }
X_DAEMON_STAGE_SID=$$
export X_DAEMON_STAGE_SID
exec "$@" &`;

export interface LaunchOptions {
  readonly cwd: string;
  readonly umask: number;
  /** 0: ignored, 1-2: output, 3: the report pipe ('pipe'), then whatever the daemon inherits. */
  readonly stdio: StdioOptions;
  readonly env: NodeJS.ProcessEnv;
  /** Close the report pipe in the command (it is not ours). */
  readonly closeReport?: boolean;
  /** The command gets SYSTEMD_EXEC_PID of its own pid (x-daemon --notify). */
  readonly ownNotify?: boolean;
  /** daemonize(): the command is Node, started in the background by the session leader itself. */
  readonly node?: boolean;
}

/**
 * Starts `command` as a daemon in three stages: this process -> a /bin/sh session leader (setsid by
 * spawn's `detached`) -> the command, which the leader forks and which kills the leader before it
 * execs. The command reports `{"started":PID}` (or `{"stage":"cwd"|"umask"|"exec"}`) on fd 3; with
 * `node`, only the stage errors are reported (the Node daemon reports its own pid).
 * Returns the leader: its pid is the daemon's session and process group.
 */
export async function launch(command: readonly string[], options: LaunchOptions): Promise<ChildProcess> {
  // Only the caller starts processes: the daemon itself never loads child_process for this.
  const { spawn } = await import('node:child_process');
  const flags = `${options.closeReport === true ? 'c' : ''}${options.ownNotify === true ? 'n' : ''}-`;
  const umask = `0${options.umask.toString(8)}`;
  const args = options.node === true ? ['-c', NODE_DAEMON, 'x-daemon'] : ['-c', LEADER, DAEMON];
  return spawn('/bin/sh', [...args, options.cwd, umask, flags, ...command], {
    stdio: options.stdio,
    env: options.env,
    detached: true,
  });
}
