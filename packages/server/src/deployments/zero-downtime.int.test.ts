/**
 * Zero-downtime replace and automatic rollback on the process target, through a real server and
 * its gateway, under a steady load over keep-alive connections (issue 7, points 1 and 2).
 */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../start-server.js';
import { LogCapture } from '../testing/test-server.js';
import { contextOf, type ContextTarball } from '../testing/context-tarball.js';
import { GatewayLoad } from '../testing/gateway-load.js';

const SERVER_JS = `
import { createServer } from 'node:http';
createServer((req, res) => {
  const version = process.env.VERSION ?? '1';
  if (req.url === '/healthz') {
    res.statusCode = process.env.HEALTHY === 'no' ? 500 : 200;
    res.end(res.statusCode === 200 ? 'ok' : 'sick');
    return;
  }
  const slow = /^\\/slow\\?ms=(\\d+)$/.exec(req.url ?? '');
  const answer = () => res.end(version);
  if (slow) setTimeout(answer, Number(slow[1]));
  else answer();
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

function score(version: string, healthy = true): string {
  return `apiVersion: score.dev/v1b1
metadata:
  name: web
service:
  ports:
    www:
      port: 8080
containers:
  main:
    image: .
    command: ["node", "server.mjs"]
    variables:
      VERSION: "${version}"
      HEALTHY: "${healthy ? 'yes' : 'no'}"
    readinessProbe:
      httpGet:
        path: /healthz
        port: 8080
resources:
  dns:
    type: dns
  route:
    type: route
    params:
      host: \${resources.dns.host}
      path: /
      port: www
`;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the assertions are the types of API answers */
describe('zero-downtime replace on the process target', () => {
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
        ...(body === undefined
          ? {}
          : { 'content-type': body instanceof Uint8Array ? 'application/gzip' : 'application/json' }),
      },
      ...(body === undefined ? {} : { body: body instanceof Uint8Array ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
  }

  async function deploy(version: string, healthy = true): Promise<any> {
    const answer = await call('POST', '/api/v1/apps/shop/envs/live/deployments', {
      workloads: [
        { file: 'web/score.yaml', score: score(version, healthy), contexts: { main: context.hash } },
      ],
    });
    expect(answer.status).toBe(201);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { body } = await call('GET', `/api/v1/apps/shop/envs/live/deployments/${answer.body.number}`);
      if (['succeeded', 'failed', 'cancelled'].includes(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`deployment ${answer.body.number} still ${body.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'paved-zero-downtime-'));
    // Workloads run as nobody when the tests run as root: they must traverse to the workDir.
    await chmod(root, 0o711);
    const dataDir = join(root, '.paved');
    server = await startServer({
      dataDir,
      port: 0,
      gatewayPort: 0,
      logDestination: log,
      workDir: join(root, 'work'),
      // Generous: the machine may be busy; only the failing release waits this long.
      processTarget: { readinessTimeoutMs: 10_000, probeIntervalMs: 200, graceMs: 1000 },
    });
    token = (JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as { token: string })
      .token;
    context = await contextOf({ 'server.mjs': SERVER_JS });
    expect((await call('POST', '/api/v1/apps', { name: 'shop' })).status).toBe(201);
    expect((await call('PUT', `/api/v1/apps/shop/contexts/${context.hash}`, context.gzip)).status).toBe(201);
    expect((await call('POST', '/api/v1/apps/shop/envs', { name: 'live', type: 'development' })).status).toBe(
      201,
    );
    const first = await deploy('1');
    expect(first.status, first.error).toBe('succeeded');
  }, 60_000);

  afterAll(async () => {
    if (server !== undefined) {
      await call('DELETE', '/api/v1/apps/shop/envs/live');
      await server.close();
    }
    await rm(root, { recursive: true, force: true });
  });

  it('switches under load with zero failed requests, letting a slow request finish', async () => {
    const load = new GatewayLoad(server.gatewayUrl, 'web-live-shop.localhost');
    load.start(25);
    try {
      await load.until('1', 500, 10_000);
      // Long enough to be in flight when the new instance has passed readiness and takes over.
      const slow = load.send('/slow?ms=3000');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const deployment = await deploy('2');
      const deployed = Date.now();
      expect(deployment.status).toBe('succeeded');
      await load.until('2', 1000, 15_000);
      const slowOutcome = await slow;
      expect(slowOutcome).toMatchObject({ status: 200, body: '1' });
      // New requests reached version 2 while the slow one was still in flight on version 1, and
      // the deployment (which stops the old instance) finished only after the slow one did.
      const switched = Math.min(...load.outcomes.filter((o) => o.body === '2').map((o) => o.ended));
      expect(switched).toBeLessThan(slowOutcome.ended);
      expect(slowOutcome.ended).toBeLessThanOrEqual(deployed);
    } finally {
      await load.stop();
    }
    expect(load.failures()).toEqual([]);
    const fast = load.outcomes.filter((outcome) => outcome.path === '/');
    const seconds = (Math.max(...fast.map((o) => o.ended)) - Math.min(...fast.map((o) => o.started))) / 1000;
    expect(fast.length / seconds).toBeGreaterThanOrEqual(20);
    // 1…1 then 2…2: once version 2 has answered, no request started later reaches version 1.
    const firstTwo = Math.min(...fast.filter((o) => o.body === '2').map((o) => o.ended));
    expect(fast.filter((o) => o.body === '1' && o.started > firstTwo)).toEqual([]);
    expect(new Set(fast.map((o) => o.body))).toEqual(new Set(['1', '2']));
  }, 60_000);

  it('rolls back a release that never becomes ready, and the old instance serves throughout', async () => {
    const before = (await call('GET', '/api/v1/apps/shop/envs/live/status')).body.deployment as number;
    const load = new GatewayLoad(server.gatewayUrl, 'web-live-shop.localhost');
    load.start(25);
    let failed: any;
    try {
      await load.until('2', 300, 10_000);
      failed = await deploy('3', false);
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await load.stop();
    }
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('workload "web"');
    expect(failed.error).toContain('/healthz');
    expect(failed.error).toContain('keeps running');
    expect(load.failures()).toEqual([]);
    expect(new Set(load.outcomes.map((o) => o.body))).toEqual(new Set(['2']));
    expect((await call('GET', '/api/v1/apps/shop/envs/live/status')).body.deployment).toBe(before);
  }, 60_000);
});
