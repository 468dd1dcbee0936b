import { read } from '@x/pidfile';
import { readProcStat, type ProcStat } from '@x/sys';
import { messageOf } from './errors.js';
import { readRecord, type DaemonRecord } from './record.js';
import { membersOf, startTicksOf, type Tree } from './tree.js';

const linux = process.platform === 'linux';

/** What a PID file says, with x-daemon's record beside it. */
export type View =
  | { kind: 'absent'; survivors: ProcStat[] }
  | { kind: 'starting'; caller: number; pid: number | undefined }
  /** `tree` only when the record proves the process group and session are the daemon's. */
  | { kind: 'running'; pid: number; tree: Tree | undefined }
  | { kind: 'dead'; pid: number | undefined; detail: string; survivors: ProcStat[]; tree: Tree | undefined }
  | { kind: 'error'; message: string };

export const treeOf = (record: DaemonRecord | undefined): Tree | undefined =>
  record?.pid === undefined || record.pidStart === undefined || record.session === undefined
    ? undefined
    : { pid: record.pid, startTicks: record.pidStart, session: record.session };

/** The daemon's processes still running: only with /proc and a record that names its session. */
export const survivorsOf = (tree: Tree | undefined): ProcStat[] => (tree === undefined || !linux ? [] : membersOf(tree));

/** `pid` is alive and is the process that was started when the record was written. */
function provenBy(tree: Tree | undefined, pid: number): Tree | undefined {
  if (tree === undefined || tree.pid !== pid || !linux) return undefined;
  // Not processState(): alive, start time, session and group must come from one read of /proc.
  const stat = readProcStat(pid);
  if (stat === undefined || stat.state === 'Z' || stat.startTicks !== tree.startTicks) return undefined;
  return stat.sid === tree.session && stat.pgid === tree.session ? tree : undefined;
}

function callerStarting(record: DaemonRecord | undefined): boolean {
  return record?.state === 'starting' && startTicksOf(record.caller) === record.callerStart;
}

/** Reads the PID file and the record beside it; never signals, never locks. */
export function inspect(path: string): View {
  let status: ReturnType<typeof read>;
  try {
    status = read(path);
  } catch (error) {
    return { kind: 'error', message: messageOf(error) };
  }
  const record = readRecord(path);
  const tree = treeOf(record);
  if (callerStarting(record)) return { kind: 'starting', caller: record?.caller as number, pid: record?.pid };
  if (status.status === 'absent') return { kind: 'absent', survivors: survivorsOf(tree) };
  if (status.status === 'running') return { kind: 'running', pid: status.pid, tree: provenBy(tree, status.pid) };
  // A command that closed the descriptor it inherited no longer holds the lock, but the record still
  // proves it: same pid, same start time, in the session x-daemon made for it.
  const proven = status.pid === undefined ? undefined : provenBy(tree, status.pid);
  if (proven !== undefined) return { kind: 'running', pid: proven.pid, tree: proven };
  return { kind: 'dead', pid: status.pid, detail: status.detail, survivors: survivorsOf(tree), tree };
}
