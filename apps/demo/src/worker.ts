// One worker of the supervisor, leader of its own process group. It watches the supervisor
// (parentdeath), keeps a grandchild in its group, and leaves orphans behind for the supervisor to reap.
import { spawn } from 'node:child_process';
import { monitor } from '@x/lifecycle';

const watch = await monitor((reason) => {
  process.stdout.write(`worker ${process.pid}: supervisor gone (${reason}); exiting\n`);
  process.exit(0);
});
const grandchild = spawn('sleep', ['600'], { stdio: 'ignore' });
// Orphans: each shell exits at once and leaves a short sleep to the subreaper, which adopts it running
// or already a zombie alike: the sleep's length does not matter.
for (let index = 0; index < 10; index++) spawn('sh', ['-c', 'sleep 0.05 &'], { stdio: 'ignore' });
process.send?.({ pid: process.pid, grandchild: grandchild.pid, watching: watch?.active === true });
process.channel?.unref();
setInterval(() => {}, 1 << 30);
