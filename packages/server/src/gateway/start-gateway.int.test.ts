/**
 * `paved gateway` as a process of its own reads routes from the server's store, on SQLite and on
 * PostgreSQL: a route another process records is served without the gateway being told.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestStore, TEST_ENGINES, type TestStore } from '@paved/store/testing/test-databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../testing/test-server.js';
import { startServer } from '../start-server.js';
import { startGateway, type RunningGateway } from './start-gateway.js';

/** GET through the gateway with `host` in the Host header: status and body. */
function get(gatewayUrl: string, host: string): Promise<string> {
  const url = new URL(gatewayUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: url.hostname, port: url.port, path: '/', headers: { host } },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        response.on('end', () => resolve(`${response.statusCode} ${body}`));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

for (const engine of TEST_ENGINES) {
  describe(`startGateway [${engine}]`, () => {
    let database: TestStore;
    let upstream: Server;
    let gateway: RunningGateway;

    beforeAll(async () => {
      database = await createTestStore(engine);
      upstream = createServer((_request, response) => response.end('from upstream'));
      await new Promise<void>((done) => upstream.listen(0, '127.0.0.1', done));
      gateway = await startGateway({
        ...database.options,
        port: 0,
        // Long enough that only the refresh on a miss can explain a route served at once.
        refreshMs: 60_000,
        logDestination: new LogCapture(),
      });
    });

    afterAll(async () => {
      await gateway?.close();
      await new Promise((done) => upstream?.close(done));
      await database?.cleanup();
    });

    it('serves a route recorded after it started, reading the store on a miss', async () => {
      const { store } = database;
      await store.apps.create({ name: 'gw', createdBy: 'alice' });
      await store.environments.create({
        app: 'gw',
        name: 'dev',
        type: 'development',
        target: 'process',
        createdBy: 'alice',
      });
      expect(await get(gateway.url, 'web-dev-gw.localhost')).toMatch(/^404 .*No route/s);
      const port = (upstream.address() as AddressInfo).port;
      await store.routes.replace('gw', 'dev', [
        { workload: 'web', host: 'web-dev-gw.localhost', path: '/', upstream: `127.0.0.1:${port}` },
      ]);
      // A miss reads the routes again at most every 250 ms.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await get(gateway.url, 'web-dev-gw.localhost:7080')).toBe('200 from upstream');
    });
  });
}

describe('startGateway without a store', () => {
  it('refuses a data directory no server has used, saying what to do', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'paved-gateway-empty-'));
    try {
      await expect(startGateway({ dataDir, port: 0, logDestination: new LogCapture() })).rejects.toThrow(
        /there is no Paved store in .*paved\.db.*start "paved server" with this data directory first/,
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('paved server with a separate gateway', () => {
  it('refuses --gateway-port 0, which cannot name where the separate gateway listens', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'paved-separate-gateway-'));
    try {
      await expect(
        startServer({
          dataDir,
          port: 0,
          gateway: 'separate',
          gatewayPort: 0,
          logDestination: new LogCapture(),
        }),
      ).rejects.toThrow(/--gateway-port names the port "paved gateway" listens on and cannot be 0/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
