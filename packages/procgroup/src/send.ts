/** Sends `signal` to `pid` (a negative pid: to that group); false when it could not be sent (exited meanwhile, say). */
export function send(pid: number, signal: number): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
