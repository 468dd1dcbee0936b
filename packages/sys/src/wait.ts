import { check } from './call.js';
import { requireLinux, requirePosix } from './platform.js';
import { libc } from './libc.js';
import { signalName } from './signals.js';

/** How a child ended, decoded from its wait status. */
export interface WaitStatus {
  /** Exit code when the child exited, otherwise null. */
  readonly code: number | null;
  /** Name of the terminating signal when the child was killed, otherwise null. */
  readonly signal: NodeJS.Signals | null;
  /** Whether the kernel wrote a core dump for it. */
  readonly coreDumped: boolean;
}

export interface WaitResult extends WaitStatus {
  readonly pid: number;
}

const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const __WNOTHREAD = 0x20000000;
const P_ALL = 0;
// si_pid sits at byte 16 of siginfo_t on every 64-bit Linux ABI (after signo, errno, code and padding).
const SI_PID_OFFSET = 16;
const status = new Int32Array(1);
const siginfo = new Uint8Array(128);
const siginfoView = new DataView(siginfo.buffer);

/**
 * Decodes a raw wait status as the W* macros of <sys/wait.h> do (Linux and macOS share the layout).
 * Returns undefined for a stopped or continued child, which has not ended.
 */
export function decodeWaitStatus(status: number): WaitStatus | undefined {
  const low = status & 0x7f;
  if (low === 0) return { code: (status >> 8) & 0xff, signal: null, coreDumped: false };
  // 0x7f marks a stopped child; 0xffff a continued one.
  if (low === 0x7f || status === 0xffff) return undefined;
  const name = signalName(low) ?? (`SIG${low}` as NodeJS.Signals);
  return { code: null, signal: name, coreDumped: (status & 0x80) !== 0 };
}

/**
 * Collects one ended child without blocking (WNOHANG): `pid` > 0 for that child, -1 for any child,
 * `-pgid` for any child in that group. Resolves nothing and waits for nothing: returns undefined while
 * the matching children are still running. Throws ECHILD when there is no such child of ours.
 *
 * Use a specific pid in a Node process: collecting "any child" can steal the status that Node's
 * child_process is waiting for.
 */
export function waitpid(pid: number): WaitResult | undefined {
  requirePosix('waitpid');
  for (;;) {
    const reaped = check('waitpid', () => libc().waitpid(pid, status, WNOHANG));
    if (reaped === 0) return undefined;
    const decoded = decodeWaitStatus(status[0] ?? 0);
    // Without WUNTRACED stopped children are not reported; loop only as a guard.
    if (decoded !== undefined) return { pid: reaped, ...decoded };
  }
}

/**
 * The pid of one ended child of the calling thread that has not been collected yet, without collecting
 * it (waitid with WNOWAIT | __WNOTHREAD); undefined when there is none. One system call, however many
 * children are alive: a cheap way to learn that there is nothing to reap. Linux only.
 */
export function peekEndedChild(): number | undefined {
  requireLinux('waitid');
  siginfo.fill(0, SI_PID_OFFSET, SI_PID_OFFSET + 4);
  try {
    check('waitid', () => libc().waitid(P_ALL, 0, siginfo, WEXITED | WNOHANG | WNOWAIT | __WNOTHREAD));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ECHILD') return undefined;
    throw error;
  }
  const pid = siginfoView.getInt32(SI_PID_OFFSET, true);
  return pid > 0 ? pid : undefined;
}
