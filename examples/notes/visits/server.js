// The visits service: counts hits in the Redis key space Paved provisioned for it. POST /hits adds
// one (INCR), GET /stats reads the count. On a shared server every key must start with the
// resource's prefix, which ioredis's keyPrefix adds to each command.
import { createServer } from 'node:http';
import { Redis } from 'ioredis';

const port = Number(process.env.PORT ?? 8080);
const redis = new Redis({
  host: process.env.REDIS_HOST,
  port: Number(process.env.REDIS_PORT ?? 6379),
  username: process.env.REDIS_USERNAME || undefined,
  password: process.env.REDIS_PASSWORD || undefined,
  keyPrefix: process.env.REDIS_PREFIX ?? '',
  // The ready check runs INFO, which a shared server's per-resource user may not run.
  enableReadyCheck: false,
});
redis.on('error', (error) => console.error(`Redis: ${error.message}`));

function send(response, status, body) {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(body));
}

async function handle(request, response) {
  const path = new URL(request.url ?? '/', 'http://visits').pathname;
  if (path === '/healthz') {
    // Ready once Redis answers with these credentials.
    return send(response, (await redis.ping()) === 'PONG' ? 200 : 503, {});
  }
  if (path === '/hits' && request.method === 'POST')
    return send(response, 200, { hits: await redis.incr('hits') });
  if (path === '/stats' && request.method === 'GET') {
    return send(response, 200, { hits: Number((await redis.get('hits')) ?? 0) });
  }
  send(response, 404, { error: `no ${request.method} ${path}: try POST /hits or GET /stats` });
}

const server = createServer((request, response) => {
  handle(request, response).catch((error) => {
    console.error(`${request.method} ${request.url} failed: ${error.message}`);
    if (!response.headersSent) send(response, 503, { error: error.message });
  });
}).listen(port, () => console.log(`visits listening on ${port}`));

process.on('SIGTERM', () => {
  server.close();
  redis.disconnect();
  process.exit(0);
});
