/** One deployment through a server whose state is in PostgreSQL: the same code path, another store. */
/* eslint-disable @typescript-eslint/no-explicit-any -- the assertions are the types of API answers */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestStore, type TestStore } from '@paved/store/testing/test-databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../start-server.js';
import { contextOf } from '../testing/context-tarball.js';
import { LogCapture } from '../testing/test-server.js';

const SCORE = `apiVersion: score.dev/v1b1
metadata:
  name: hello
service:
  ports:
    http:
      port: 8080
containers:
  main:
    image: .
    command: ["node", "server.mjs"]
resources:
  dns:
    type: dns
  route:
    type: route
    params:
      host: \${resources.dns.host}
      path: /
      port: http
`;

describe('deployments [postgres]', () => {
  let database: TestStore;
  let root: string;
  let server: RunningServer;
  let token: string;

  beforeAll(async () => {
    database = await createTestStore('postgres');
    await database.store.close();
    root = await mkdtemp(join(tmpdir(), 'paved-deployments-pg-'));
    await chmod(root, 0o711);
    const dataDir = join(root, '.paved');
    server = await startServer({
      dataDir,
      port: 0,
      gatewayPort: 0,
      logDestination: new LogCapture(),
      workDir: join(root, 'work'),
      ...(database.options.databaseUrl === undefined ? {} : { databaseUrl: database.options.databaseUrl }),
    });
    ({ token } = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as { token: string });
  });

  afterAll(async () => {
    await call('DELETE', '/api/v1/apps/smoke/envs/dev');
    await server.close();
    await database.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': body instanceof Uint8Array ? 'application/gzip' : 'application/json',
      },
      ...(body === undefined ? {} : { body: body instanceof Uint8Array ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }

  it('deploys and serves through the gateway', async () => {
    const context = await contextOf({
      'server.mjs': `import { createServer } from 'node:http';
createServer((req, res) => res.end('hello from ' + req.url)).listen(Number(process.env.PORT), '127.0.0.1');`,
    });
    expect((await call('POST', '/api/v1/apps', { name: 'smoke' })).status).toBe(201);
    expect((await call('POST', '/api/v1/apps/smoke/envs', { name: 'dev', type: 'development' })).status).toBe(
      201,
    );
    expect((await call('PUT', `/api/v1/apps/smoke/contexts/${context.hash}`, context.gzip)).status).toBe(201);
    const created = await call('POST', '/api/v1/apps/smoke/envs/dev/deployments', {
      workloads: [{ file: 'score.yaml', score: SCORE, contexts: { main: context.hash } }],
    });
    expect(created.status).toBe(201);
    let deployment = created.body;
    for (let tries = 0; tries < 300 && !['succeeded', 'failed'].includes(deployment.status); tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      deployment = (await call('GET', '/api/v1/apps/smoke/envs/dev/deployments/1')).body;
    }
    expect(deployment.error).toBeUndefined();
    expect(deployment.status).toBe('succeeded');
    const gateway = new URL(server.gatewayUrl);
    const { request } = await import('node:http');
    const text = await new Promise<string>((resolve, reject) => {
      request(
        {
          host: gateway.hostname,
          port: Number(gateway.port),
          path: '/x',
          headers: { host: 'hello-dev-smoke.localhost' },
        },
        (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve(body));
        },
      )
        .on('error', reject)
        .end();
    });
    expect(text).toBe('hello from /x');
  });
});
