import { sys } from '@x/lifecycle';

/** `root` and all its descendants, from /proc. */
export const treeOf = (root: number): number[] => [root, ...sys.descendantsOf(root)];

/** Alive (running or stopped: not gone, not a zombie), as the kernel says now. */
export function alive(pid: number): boolean {
  // Not a pid of a process (0 would be our own group): never alive, and never one to signal.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const state = sys.processState(pid);
  return state === 'running' || state === 'stopped';
}

/** Draws the process tree under `root` as indented lines: pid, group, state and command name. */
export function drawTree(root: number): string[] {
  const lines: string[] = [];
  const visit = (pid: number, prefix: string, last: boolean, top: boolean) => {
    const stat = sys.readProcStat(pid);
    if (stat === undefined) return;
    const label = `${String(pid).padStart(7)}  pgid ${String(stat.pgid).padEnd(7)} ${stat.state}  ${stat.comm}`;
    lines.push(top ? label : `${prefix}${last ? '└─ ' : '├─ '}${label}`);
    const children = sys.childrenOf(pid);
    children.forEach((child, index) => {
      visit(child, top ? '         ' : `${prefix}${last ? '   ' : '│  '}`, index === children.length - 1, false);
    });
  };
  visit(root, '', true, true);
  return lines;
}
