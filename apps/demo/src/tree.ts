import { sys } from '@x/lifecycle';

/** `root` and all its descendants, from /proc. */
export const treeOf = (root: number): number[] => [root, ...sys.descendantsOf(root)];

/** Alive (not gone, not a zombie) per /proc. */
export function alive(pid: number): boolean {
  const state = sys.readProcStat(pid)?.state;
  return state !== undefined && state !== 'Z' && state !== 'X';
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
