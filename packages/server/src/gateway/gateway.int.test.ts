/**
 * The gateway's upstream connections, against real servers and a real (SQLite) store of routes:
 * kept alive for idempotent requests without a body, one of their own for the rest, and a request
 * sent again on a new connection when the kept one was closed as it was reused.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startResettingUpstream } from '@paved/runtimes/testing/resetting-upstream';
import { openStore, type Store } from '@paved/store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
function send(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: gatewayPort, method, path, headers: { host: HOST }, agent: false },
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
