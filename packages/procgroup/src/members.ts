import { listProcesses, processState, readProcStat } from '@x/sys';

/** Live (not zombie) processes whose process group is `pgid`, from a scan of /proc. */
export function liveMembers(pgid: number): number[] {
  return listProcesses()
    .filter((stat) => stat.pgid === pgid && stat.state !== 'Z' && stat.state !== 'X')
    .map((stat) => stat.pid);
}

/** Whether `pid` is still a live member of `pgid` (not exited, not a zombie, not a reused pid elsewhere). */
export function stillMember(pid: number, pgid: number): boolean {
  const state = processState(pid);
  // Its group too: a member that left with setsid (or a reused pid) no longer holds ours.
  return (state === 'running' || state === 'stopped') && readProcStat(pid)?.pgid === pgid;
}

/**
 * Whether any process, zombies included, still has process group id `pgid`: kill(-pgid, 0). While one
 * does, the kernel cannot hand the id to a new group. Works wherever process groups exist.
 */
export function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, only not ours to signal (a member that changed its user).
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
