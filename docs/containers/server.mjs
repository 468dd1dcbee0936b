// A small HTTP service for the container guide (docs/containers.md). It shells out on every
// POST /export, and the script it runs leaves a background job behind: the kind of orphan that turns
// into a zombie when PID 1 does not collect it. Run it as PID 1 itself (Dockerfile.reap) or under
// x-reaper (Dockerfile.x-reaper); either way SIGTERM ends it with exit code 0.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { reap } from '@x/reaper';

// As PID 1 this collects every orphan; under x-reaper (not PID 1) it is inactive and costs nothing.
const reaper = reap();
reaper.on('error', (error) => console.error(`reaper: ${error.message}`));

// Runs `sh -c 'sleep 0.1 &'` `count` times: each shell exits at once, leaving its `sleep` an orphan.
function runExports(count) {
  const runs = Array.from({ length: count }, () => new Promise((resolve, reject) => {
    const shell = spawn('sh', ['-c', 'sleep 0.1 &'], { stdio: 'ignore' });
    shell.on('error', reject);
    shell.on('exit', resolve);
  }));
  return Promise.all(runs);
}

const server = createServer(async (request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (request.method === 'POST' && url.pathname === '/export') {
    const count = Math.min(Number(url.searchParams.get('count') ?? 1) || 1, 1000);
    await runExports(count);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ started: count, pid: process.pid, reaping: reaper.active, reaped: reaper.reaped }));
    return;
  }
  response.writeHead(url.pathname === '/' ? 200 : 404, { 'content-type': 'text/plain' });
  response.end(url.pathname === '/' ? 'ok\n' : 'not found\n');
});

// PID 1 gets no default action for SIGTERM or SIGINT: without these handlers `docker stop` would wait
// out its grace period and SIGKILL the container.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    // Stop accepting, let requests in flight finish, then exit 0: a stop that was asked for is a clean one.
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}

server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '0.0.0.0', () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port} as pid ${process.pid}`);
});
