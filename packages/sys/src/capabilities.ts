import { cgroupKillSupport } from './cgroup-kill.js';
import { close } from './fd.js';
import { pidfdOpen } from './pidfd.js';
import { getParentDeathSignal, isChildSubreaper } from './prctl.js';
import { hasChildrenLists } from './proc.js';

export interface Capability {
  readonly supported: boolean;
  /** What was found, or why the feature is unavailable. */
  readonly detail: string;
}

export interface Capabilities {
  /** prctl(PR_SET_PDEATHSIG): a signal on the death of the parent thread. */
  readonly pdeathsig: Capability;
  /** prctl(PR_SET_CHILD_SUBREAPER): adopting orphaned descendants. */
  readonly subreaper: Capability;
  /** pidfd_open / pidfd_send_signal: signals that cannot hit a reused pid. */
  readonly pidfd: Capability;
  /** A writable cgroup v2 subtree with cgroup.kill, for containment that setsid cannot escape. */
  readonly cgroupKill: Capability;
  /** Creating PID namespaces (`unshare -p -f --mount-proc`), to run something as PID 1. */
  readonly pidNamespaces: Capability;
  /** /proc/PID/task/TID/children lists (otherwise every /proc/N/stat is scanned). */
  readonly childrenLists: Capability;
}

const yes = (detail: string): Capability => ({ supported: true, detail });
const no = (detail: string): Capability => ({ supported: false, detail });
const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

function probe(feature: () => string): Capability {
  if (process.platform !== 'linux') return no(`Linux only (this is ${process.platform})`);
  try {
    return yes(feature());
  } catch (error) {
    return no(reason(error));
  }
}

function cgroupKill(): Capability {
  const support = cgroupKillSupport();
  return 'reason' in support ? no(support.reason) : yes(`under ${support.directory}`);
}

function pidNamespaces(): Promise<Capability> {
  if (process.platform !== 'linux') return Promise.resolve(no(`Linux only (this is ${process.platform})`));
  // Loaded here: importing @x/sys stays cheap for programs that never ask for capabilities().
  const { execFile } = process.getBuiltinModule('node:child_process');
  return new Promise((resolve) => {
    execFile('unshare', ['-p', '-f', '--mount-proc', 'sh', '-c', 'echo $$'], { timeout: 5000 }, (error, stdout) => {
      if (error) {
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        resolve(no(missing ? 'the unshare command (util-linux) is not installed' : `unshare failed: ${error.message.trim()}`));
      } else if (stdout.trim() !== '1') {
        resolve(no(`unshare ran but the command was pid ${stdout.trim()}, not 1`));
      } else {
        resolve(yes('unshare -p -f --mount-proc runs a command as pid 1'));
      }
    });
  });
}

/**
 * Reports which process features this machine supports, each with what was found or why it is
 * unavailable. Probes for real (creates and removes a cgroup, starts `unshare`), so call it once.
 */
export async function capabilities(): Promise<Capabilities> {
  return {
    pdeathsig: probe(() => `available (currently ${getParentDeathSignal() ?? 'not armed'})`),
    subreaper: probe(() => `available (this process ${isChildSubreaper() ? 'is' : 'is not'} a subreaper)`),
    pidfd: probe(() => {
      close(pidfdOpen(process.pid));
      return 'pidfd_open and pidfd_send_signal';
    }),
    cgroupKill: cgroupKill(),
    pidNamespaces: await pidNamespaces(),
    childrenLists: probe(() => {
      if (!hasChildrenLists()) throw new Error('kernel lacks CONFIG_PROC_CHILDREN; /proc is scanned instead');
      return '/proc/PID/task/TID/children';
    }),
  };
}
