import { left, type Output } from './output.js';
import { inspect } from './view.js';

/** `x-daemon status`. LSB exit codes: 0 running (or starting), 1 dead with its PID file left, 3 not running, 4 unknown. */
export function status(path: string, output: Output): number {
  const view = inspect(path);
  switch (view.kind) {
    case 'running':
      output.out(`running (pid ${view.pid})`);
      return 0;
    case 'starting':
      output.out(`starting${view.pid === undefined ? '' : ` (pid ${view.pid})`}: x-daemon start (pid ${view.caller}) is waiting for it to be ready`);
      return 0;
    case 'dead':
      output.out(`dead, but ${path} is left: ${view.detail}${left(view.survivors)}`);
      return 1;
    case 'absent':
      output.out(`not running${left(view.survivors)}`);
      return 3;
    case 'error':
      output.err(`x-daemon: status unknown: ${view.message}`);
      return 4;
  }
}
