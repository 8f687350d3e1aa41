/**
 * The workload every runtime runs in the conformance suite: one Node HTTP server script, driven by
 * environment variables so that the suite describes behaviour, not a target. A factory decides
 * how to run it (the process target from a context folder, a container target from an image with
 * Node in it). It listens on `PORT` when the target sets it, else on `CONFORMANCE_PORT`.
 *
 * Variables: `CONFORMANCE_VERSION` (echoed), `CONFORMANCE_MODE` = `serve` (default) | `oneshot`
 * (log, wait `CONFORMANCE_DELAY_MS`, exit 0) | `idle` (stay up, listen on nothing);
 * `CONFORMANCE_READY=never` (`/ready` answers 503); `CONFORMANCE_LIVE_FAIL_AFTER_MS` (`/live`
 * answers 500 after that long); `CONFORMANCE_IGNORE_SIGTERM=1`; `CONFORMANCE_READ_FILE` (tries to
 * read it at start and logs the outcome); `CONFORMANCE_LOG_BYTES` (writes that much output at
 * start). `GET /crash` exits with code 3. Every request is logged as `request <path>`. `GET /`
 * answers its boot id, version, pid, uid and its own arguments (`argv`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CONFORMANCE_SERVER_FILE = 'server.mjs';

export const CONFORMANCE_SERVER_SOURCE = `import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const env = process.env;
const boot = randomUUID();
const startedAt = Date.now();
const mode = env.CONFORMANCE_MODE ?? 'serve';
let server;
console.log('boot ' + boot + ' started ' + startedAt);

if (env.CONFORMANCE_READ_FILE) {
  try {
    readFileSync(env.CONFORMANCE_READ_FILE);
    console.log('read-file ok');
  } catch (error) {
    console.log('read-file failed ' + error.code);
  }
}
if (env.CONFORMANCE_LOG_BYTES) {
  const line = 'x'.repeat(99);
  for (let written = 0; written < Number(env.CONFORMANCE_LOG_BYTES); written += 100) console.log(line);
  console.log('log-bytes done');
}

process.on('SIGTERM', () => {
  if (env.CONFORMANCE_IGNORE_SIGTERM === '1') {
    console.log('ignoring SIGTERM');
    return;
  }
  console.log('got SIGTERM');
  // Finish the requests in flight, as a well-behaved server does, then go.
  if (server === undefined) process.exit(0);
  server.close(() => process.exit(0));
});

if (mode === 'oneshot') {
  setTimeout(() => {
    console.log('complete ' + Date.now());
    process.exit(0);
  }, Number(env.CONFORMANCE_DELAY_MS ?? 0));
} else if (mode === 'idle') {
  setInterval(() => undefined, 60_000);
} else {
  const port = Number(env.PORT ?? env.CONFORMANCE_PORT ?? 8080);
  server = createServer((request, response) => {
    console.log('request ' + request.url);
    response.setHeader('connection', 'close');
    if (request.url === '/crash') {
      response.end('crashing');
      console.error('crashing on request');
      setTimeout(() => process.exit(3), 10);
      return;
    }
    if (request.url === '/ready') {
      response.statusCode = env.CONFORMANCE_READY === 'never' ? 503 : 200;
      response.end(response.statusCode === 200 ? 'ready' : 'not ready');
      return;
    }
    if (request.url === '/live') {
      const after = env.CONFORMANCE_LIVE_FAIL_AFTER_MS;
      response.statusCode = after !== undefined && Date.now() - startedAt > Number(after) ? 500 : 200;
      response.end();
      return;
    }
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ boot, version: env.CONFORMANCE_VERSION ?? '', pid: process.pid, uid: process.getuid?.(), argv: process.argv.slice(2) }));
  });
  server.listen(port, () => console.log('listening ' + port));
}
`;

/** Writes the conformance server into `dir` (created if needed) and returns `dir`. */
export function writeConformanceContext(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, CONFORMANCE_SERVER_FILE), CONFORMANCE_SERVER_SOURCE);
  return dir;
}
