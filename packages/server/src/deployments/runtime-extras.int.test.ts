/**
 * Runtime extras end to end on the process target: a `template` definition returns `$extras`, the
 * render stage merges them into the workload that uses the resource, and the running processes see
 * the extra file (under `$PAVED_ROOT`) and the extra container.
 */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../start-server.js';
import { LogCapture } from '../testing/test-server.js';
import { contextOf, type ContextTarball } from '../testing/context-tarball.js';

// The workload serves the file the resource's extras put at /etc/extras/greeting.txt.
const READER_JS = `
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
createServer((req, res) => {
  res.end(readFileSync(process.env.PAVED_ROOT + '/etc/extras/greeting.txt', 'utf8'));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;
// The extra container: serves its variables on the port the definition gives it.
const HELPER_JS = `
import { createServer } from 'node:http';
createServer((req, res) => res.end('helper ' + process.env.GREETING)).listen(Number(process.env.HELPER_PORT), '127.0.0.1');
`;

const READER_SCORE = `apiVersion: score.dev/v1b1
metadata:
  name: reader
service:
  ports:
    www:
      port: 8080
containers:
  main:
    image: .
    command: ["node", "reader.mjs"]
resources:
  greeting:
    type: greeting
  dns:
    type: dns
  route:
    type: route
    params:
      host: \${resources.dns.host}
      path: /
      port: www
`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the assertions are the types of API answers */
describe('runtime extras on the process target', () => {
  let root: string;
  let server: RunningServer;
  let token: string;
  let context: ContextTarball;
  const log = new LogCapture();

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined || body instanceof Uint8Array ? {} : { 'content-type': 'application/json' }),
        ...(body instanceof Uint8Array ? { 'content-type': 'application/gzip' } : {}),
      },
      ...(body === undefined ? {} : { body: body instanceof Uint8Array ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
  }

  // The new instance starts before the old one stops, so each version of the helper gets its own port.
  const applyDefinition = (greeting: string, helperPort: number) =>
    call('POST', '/api/v1/apply', {
      documents: [
        {
          file: 'platform/greeting.yaml',
          line: 1,
          apiVersion: 'paved.dev/v1',
          kind: 'ResourceDefinition',
          metadata: { name: 'greeting' },
          spec: {
            type: 'greeting',
            driver: 'template',
            inputs: {
              values: {
                outputs: { text: greeting },
                extras: {
                  files: {
                    '/etc/extras/greeting.txt': { content: `${greeting} from \${context.env}`, mode: '0644' },
                  },
                  containers: {
                    helper: {
                      image: '.',
                      command: ['node', 'helper.mjs'],
                      variables: { GREETING: greeting, HELPER_PORT: String(helperPort) },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    });

  const deploy = (score: string, extra: Record<string, unknown> = {}) =>
    call('POST', '/api/v1/apps/shop/envs/extras/deployments', {
      workloads: [{ file: 'reader/score.yaml', score, contexts: { main: context.hash } }],
      ...extra,
    });

  async function waitFor(number: number): Promise<any> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { body } = await call('GET', `/api/v1/apps/shop/envs/extras/deployments/${number}`);
      if (['succeeded', 'failed', 'cancelled'].includes(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`deployment ${number} still ${body.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Calls the gateway with a Host header: `*.localhost` does not resolve in Node. */
  function viaGateway(host: string): Promise<{ status: number; text: string }> {
    const url = new URL(server.gatewayUrl);
    return new Promise((resolve, reject) => {
      const request = httpRequest(
        { host: url.hostname, port: Number(url.port), path: '/', headers: { host: `${host}:${url.port}` } },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        },
      );
      request.on('error', reject);
      request.end();
    });
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'paved-extras-'));
    // Workloads run as nobody when the tests run as root: they must traverse to the workDir.
    await chmod(root, 0o711);
    const dataDir = join(root, '.paved');
    server = await startServer({
      dataDir,
      port: 0,
      gatewayPort: 0,
      logDestination: log,
      workDir: join(root, 'work'),
      processTarget: { readinessTimeoutMs: 5000, probeIntervalMs: 200, graceMs: 1000 },
    });
    ({ token } = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as { token: string });
    context = await contextOf({ 'reader.mjs': READER_JS, 'helper.mjs': HELPER_JS });
  });

  afterAll(async () => {
    if (server !== undefined) {
      await call('DELETE', '/api/v1/apps/shop/envs/extras');
      await server.close();
    }
    await rm(root, { recursive: true, force: true });
  });

  it('puts the extra file and container of a template resource into the workload, and restarts it when they change', async () => {
    const [firstPort, secondPort] = [await freePort(), await freePort()];
    expect((await call('POST', '/api/v1/apps', { name: 'shop' })).status).toBe(201);
    expect(
      (await call('POST', '/api/v1/apps/shop/envs', { name: 'extras', type: 'development' })).status,
    ).toBe(201);
    expect((await call('PUT', `/api/v1/apps/shop/contexts/${context.hash}`, context.gzip)).status).toBe(201);
    expect((await applyDefinition('hello', firstPort)).body).toMatchObject({ created: 1 });

    // A plan cannot know the extras of a resource not provisioned yet; it still plans.
    const plan = await deploy(READER_SCORE, { plan: true });
    expect(plan.status).toBe(200);

    const first = await deploy(READER_SCORE);
    expect(first.status).toBe(201);
    const done = await waitFor(first.body.number);
    expect(done.error).toBeUndefined();
    expect(done.status).toBe('succeeded');
    expect(await viaGateway('reader-extras-shop.localhost')).toEqual({
      status: 200,
      text: 'hello from extras',
    });
    expect(await (await fetch(`http://127.0.0.1:${firstPort}/`)).text()).toBe('helper hello');

    // `$extras` is not an output workloads can read.
    const peeking = await deploy(
      READER_SCORE.replace(
        'command: ["node", "reader.mjs"]',
        'command: ["node", "reader.mjs"]\n    variables:\n      X: ${resources.greeting.$extras}',
      ),
    );
    const refused = await waitFor(peeking.body.number);
    expect(refused.status).toBe('failed');
    expect(refused.error).toContain(
      'runtime extras are added to the workload by Paved, not read through placeholders',
    );

    // A changed definition changes the extras, so the spec hash, so the workload restarts.
    expect((await applyDefinition('welcome', secondPort)).body).toMatchObject({ updated: 1 });
    const second = await deploy(READER_SCORE);
    const redone = await waitFor(second.body.number);
    expect(redone.error).toBeUndefined();
    expect(redone.status).toBe('succeeded');
    expect(await viaGateway('reader-extras-shop.localhost')).toEqual({
      status: 200,
      text: 'welcome from extras',
    });
    expect(await (await fetch(`http://127.0.0.1:${secondPort}/`)).text()).toBe('helper welcome');

    // A Score file that already has the file fails the render, naming resource and path.
    const clashing = await deploy(
      READER_SCORE.replace(
        'command: ["node", "reader.mjs"]',
        'command: ["node", "reader.mjs"]\n    files:\n      /etc/extras/greeting.txt:\n        content: mine',
      ),
    );
    const failed = await waitFor(clashing.body.number);
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain(
      'workload "reader" container main already has the file /etc/extras/greeting.txt; resource "greeting.default#reader.greeting" (greeting) adds it again through runtime extras',
    );
    // The environment stays on what ran before.
    expect(await viaGateway('reader-extras-shop.localhost')).toEqual({
      status: 200,
      text: 'welcome from extras',
    });
  });
});
