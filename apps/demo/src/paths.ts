import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the demo keeps its PID file, log and state: X_DEMO_DIR, else a directory of this user's. */
export function demoDir(): string {
  return process.env.X_DEMO_DIR ?? join(process.env.XDG_RUNTIME_DIR ?? tmpdir(), `x-demo-${process.getuid?.() ?? 'user'}`);
}

export const paths = () => {
  const dir = demoDir();
  return { dir, pidFile: join(dir, 'supervisor.pid'), log: join(dir, 'supervisor.log'), state: join(dir, 'state.json') };
};

/** What the supervisor tells `demo status` and the tour. */
export interface State {
  supervisor: number;
  workers: { pid: number; pgid: number; grandchild: number }[];
  reaped: number;
  subreaper: boolean;
}
