/**
 * The gateway against real servers and a real (SQLite) store of routes: a route committed by
 * another process is served to the next request; upstream connections are kept alive for
 * idempotent requests without a body, one of their own for the rest, and a request is sent again
 * on a new connection when the kept one was closed as it was reused.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startResettingUpstream } from '@paved/runtimes/testing/resetting-upstream';
import { openStore, type Store } from '@paved/store';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { Gateway } from './gateway.js';

const HOST = 'web-dev-shop.localhost';

let root: string;
let store: Store;
let gateway: Gateway;
let gatewayPort: number;
const closers: (() => void)[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'paved-gateway-'));
  store = await openStore({ dataDir: root });
  await store.apps.create({ name: 'shop', createdBy: 'alice' });
  await store.environments.create({
    app: 'shop',
    name: 'dev',
    type: 'development',
    target: 'process',
    createdBy: 'alice',
  });
  gateway = new Gateway({ store, logger: createLogger({ level: 'silent' }) });
  gatewayPort = await gateway.listen('127.0.0.1', 0);
});

afterEach(async () => {
  for (const close of closers.splice(0)) close();
  await gateway.close();
  await store.close();
  await rm(root, { recursive: true, force: true });
});

async function routeTo(port: number): Promise<void> {
  await store.routes.replace('shop', 'dev', [
    { workload: 'web', host: HOST, path: '/', upstream: `127.0.0.1:${port}` },
  ]);
  await gateway.refresh();
}

/** One request to the gateway on a client connection of its own. */
function send(
  method: string,
  path: string,
  body?: string,
  host = HOST,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: gatewayPort, method, path, headers: { host }, agent: false },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function listening(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

describe('the gateway upstream', () => {
  it('keeps connections alive for idempotent requests without a body, not for the others', async () => {
    let accepted = 0;
    const upstream = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => res.end(`${req.method} ${req.url} ${body}`));
    });
    upstream.on('connection', () => (accepted += 1));
    closers.push(() => {
      upstream.closeAllConnections();
      upstream.close();
    });
    await routeTo(await listening(upstream));

    for (let index = 0; index < 20; index += 1) {
      expect(await send('GET', `/items/${index}`)).toEqual({ status: 200, body: `GET /items/${index} ` });
    }
    expect(accepted).toBe(1);
    expect((await send('PUT', '/items/1', 'x')).body).toBe('PUT /items/1 x');
    expect((await send('POST', '/orders')).body).toBe('POST /orders ');
    expect(accepted).toBe(3);
  });

  it('sends an idempotent request again on a new connection when the kept one was closed as it was reused', async () => {
    // Resets a kept connection at its second request: a forwarder restarted, or closing an idle
    // connection just as it is reused.
    const upstream = await startResettingUpstream();
    closers.push(() => upstream.close());
    await routeTo(upstream.port);

    for (let index = 0; index < 5; index += 1) {
      expect(await send('GET', '/')).toEqual({ status: 200, body: 'ok' });
    }
    // Requests 2 and 4 found the connection kept from 1 and 3 reset and went again on one of
    // their own; 3 and 5 found none kept and opened one.
    expect(upstream.resets()).toBe(2);
    expect(upstream.accepted()).toBe(5);
  });
});

describe('the gateway routes', () => {
  it('serves a route committed just after a read to the next request, not a 404', async () => {
    // A separate gateway: the deployment's route is committed by the API server, not announced.
    const upstream = createHttpServer((_request, response) => response.end('up'));
    closers.push(() => upstream.close());
    const port = await listening(upstream);
    await gateway.refresh();
    await store.routes.replace('shop', 'dev', [
      { workload: 'web', host: HOST, path: '/', upstream: `127.0.0.1:${port}` },
    ]);

    expect(await send('GET', '/')).toEqual({ status: 200, body: 'up' });
  });

  it('answers unknown hosts with a 404 and reads the routes for them at most every 250 ms', async () => {
    const list = vi.spyOn(store.routes, 'list');
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, index) => send('GET', '/', undefined, `nothing-${index}.localhost`)),
    );
    const elapsed = Date.now() - started;

    expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 20 }, () => 404));
    expect(answers[0]?.body).toContain('has no route for host &#34;nothing-0.localhost&#34;');
    expect(list.mock.calls.length).toBeLessThanOrEqual(1 + Math.floor(elapsed / 250) + 1);
  });
});
