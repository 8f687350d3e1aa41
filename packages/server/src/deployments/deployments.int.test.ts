/**
 * The deployment engine end to end through a real server: contexts uploaded, Score in, processes
 * running behind the gateway, status, events, queueing, cancel, failures with evidence, restarts.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '@paved/store';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServer, type RunningServer, type ServerOptions } from '../start-server.js';
import { LogCapture } from '../testing/test-server.js';
import { contextOf, rawTarball, type ContextTarball } from '../testing/context-tarball.js';

const SERVER_JS = `
import { createServer } from 'node:http';
const name = process.env.NAME ?? 'app';
createServer(async (req, res) => {
  if (req.url === '/healthz') { res.end(process.env.HEALTHY === 'no' ? (res.statusCode = 500, 'sick') : 'ok'); return; }
  let upstream;
  if (process.env.USERS_URL) {
    upstream = await (await fetch(process.env.USERS_URL + '/users')).json();
  }
  console.log('served ' + req.url);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ name, version: process.env.VERSION ?? '1', path: req.url, host: req.headers['x-forwarded-host'], upstream }));
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log(name + ' listening'));
`;

function usersScore(extra = ''): string {
  return `apiVersion: score.dev/v1b1
metadata:
  name: users
service:
  ports:
    http:
      port: 8081
containers:
  main:
    image: .
    command: ["node", "server.mjs"]
    variables:
      NAME: users${extra}
`;
}

function webScore(options: { version?: string; healthy?: boolean; usersPort?: string } = {}): string {
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
      NAME: web
      VERSION: "${options.version ?? '1'}"
      HEALTHY: "${options.healthy === false ? 'no' : 'yes'}"
      USERS_URL: http://\${resources.users.hostname}:\${resources.users.${options.usersPort ?? 'port'}}
    readinessProbe:
      httpGet:
        path: /healthz
        port: 8080
resources:
  users:
    type: service-port
    params:
      workload: users
      port: http
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
interface DeploymentEventJson {
  seq: number;
  type: string;
  message: string;
}

interface Api {
  server: RunningServer;
  token: string;
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; text: string }>;
}

describe('deployments on the process target', () => {
  let root: string;
  let dataDir: string;
  let api: Api;
  let context: ContextTarball;
  const log = new LogCapture();

  async function start(extra: Partial<ServerOptions> = {}): Promise<Api> {
    const server = await startServer({
      dataDir,
      port: 0,
      gatewayPort: 0,
      logDestination: log,
      workDir: join(root, 'work'),
      processTarget: { readinessTimeoutMs: 5000, probeIntervalMs: 200, graceMs: 1000 },
      ...extra,
    });
    const { token } = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as {
      token: string;
    };
    return {
      server,
      token,
      async call(method, path, body, headers = {}) {
        const response = await fetch(`${server.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined || body instanceof Uint8Array
              ? {}
              : { 'content-type': 'application/json' }),
            ...headers,
          },
          ...(body === undefined ? {} : { body: body instanceof Uint8Array ? body : JSON.stringify(body) }),
        });
        const text = await response.text();
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        return { status: response.status, body: parsed, text };
      },
    };
  }

  const deploy = (
    env: string,
    workloads: { file: string; score: string }[],
    extra: Record<string, unknown> = {},
  ) =>
    api.call('POST', `/api/v1/apps/shop/envs/${env}/deployments`, {
      workloads: workloads.map((workload) => ({ ...workload, contexts: { main: context.hash } })),
      ...extra,
    });

  async function waitFor(env: string, number: number, timeoutMs = 30_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api.call('GET', `/api/v1/apps/shop/envs/${env}/deployments/${number}`);
      if (['succeeded', 'failed', 'cancelled'].includes(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`deployment ${number} still ${body.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Calls the gateway with a Host header: `*.localhost` does not resolve in Node. */
  function viaGateway(host: string, path: string): Promise<{ status: number; text: string }> {
    const url = new URL(api.server.gatewayUrl);
    return new Promise((resolve, reject) => {
      const request = httpRequest(
        { host: url.hostname, port: Number(url.port), path, headers: { host: `${host}:${url.port}` } },
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
    root = await mkdtemp(join(tmpdir(), 'paved-deployments-'));
    // Workloads run as nobody when the tests run as root: they must traverse to the workDir.
    await chmod(root, 0o711);
    dataDir = join(root, '.paved');
    api = await start();
    context = await contextOf({ 'server.mjs': SERVER_JS });
    expect((await api.call('POST', '/api/v1/apps', { name: 'shop' })).status).toBe(201);
    for (const env of ['dev', 'qa']) {
      expect(
        (await api.call('POST', '/api/v1/apps/shop/envs', { name: env, type: 'development' })).status,
      ).toBe(201);
    }
  });

  afterAll(async () => {
    if (api !== undefined) {
      // Every environment the tests create, so a failed test leaves no workload process behind.
      for (const env of ['dev', 'qa', 'defs', 'broken', 'cluster', 'hooks', 'gone', 'wiped', 'pruned']) {
        await api.call('DELETE', `/api/v1/apps/shop/envs/${env}`);
      }
      await api.server.close();
    }
    await rm(root, { recursive: true, force: true });
  });

  it('receives build contexts, checking hash, size and entries', async () => {
    const path = `/api/v1/apps/shop/contexts/${context.hash}`;
    expect((await api.call('HEAD', path)).status).toBe(404);
    const put = await api.call('PUT', path, context.gzip, { 'content-type': 'application/gzip' });
    expect(put.status).toBe(201);
    expect(put.body).toEqual({ hash: context.hash, bytes: context.gzip.length });
    expect((await api.call('HEAD', path)).status).toBe(200);

    const other = await contextOf({ 'a.txt': 'a' });
    const mismatch = await api.call(
      'PUT',
      `/api/v1/apps/shop/contexts/${other.hash.replace(/.$/, (c) => (c === '0' ? '1' : '0'))}`,
      other.gzip,
      {
        'content-type': 'application/gzip',
      },
    );
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error.message).toContain(`hashes to ${other.hash}`);

    for (const entry of [
      { path: '../escape.txt', content: 'x' },
      { path: '/etc/evil', content: 'x' },
      { path: 'link', type: 'symlink' as const, linkpath: '../../outside' },
      { path: 'dev', type: 'chardev' as const },
    ]) {
      const unsafe = rawTarball(entry);
      const answer = await api.call('PUT', `/api/v1/apps/shop/contexts/${unsafe.hash}`, unsafe.gzip, {
        'content-type': 'application/gzip',
      });
      expect(answer.status, entry.path).toBe(400);
      expect(answer.body.error.message).toContain('unsafe entries');
      expect((await api.call('HEAD', `/api/v1/apps/shop/contexts/${unsafe.hash}`)).status).toBe(404);
    }
  });

  it('refuses a context over the limit with 413', async () => {
    const small = await start({ maxContextBytes: 64 });
    try {
      const big = await contextOf({ 'big.txt': 'x'.repeat(10_000) + Math.random().toString() });
      const answer = await small.call('PUT', `/api/v1/apps/shop/contexts/${big.hash}`, big.gzip, {
        'content-type': 'application/gzip',
      });
      expect(answer.status).toBe(413);
      expect(answer.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    } finally {
      await small.server.close();
    }
  });

  it('validates every Score file before storing anything, naming the files', async () => {
    const answer = await deploy('dev', [
      { file: 'users/score.yaml', score: 'apiVersion: score.dev/v1b1\nmetadata: {}\ncontainers: {}\n' },
      { file: 'web/score.yaml', score: webScore().replace('image: .', 'image: 42') },
    ]);
    expect(answer.status).toBe(400);
    const files = answer.body.error.details.problems.map((problem: { file: string }) => problem.file);
    expect(new Set(files)).toEqual(new Set(['users/score.yaml', 'web/score.yaml']));
    expect((await api.call('GET', '/api/v1/apps/shop/envs/dev/deployments')).body.items).toEqual([]);
  });

  it('deploys two workloads, serves the route through the gateway, and reports status and events', async () => {
    const plan = await deploy(
      'dev',
      [
        { file: 'users/score.yaml', score: usersScore() },
        { file: 'web/score.yaml', score: webScore() },
      ],
      { plan: true },
    );
    expect(plan.status).toBe(200);
    expect(plan.body.workloads.map((w: { name: string; action: string }) => [w.name, w.action])).toEqual([
      ['users', 'create'],
      ['web', 'create'],
    ]);

    const created = await deploy(
      'dev',
      [
        { file: 'users/score.yaml', score: usersScore() },
        { file: 'web/score.yaml', score: webScore() },
      ],
      { message: 'first' },
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      number: 1,
      status: 'queued',
      message: 'first',
      setId: expect.stringMatching(/^sha256:/),
    });
    const finished = await waitFor('dev', 1);
    expect(finished.error).toBeUndefined();
    expect(finished.status).toBe('succeeded');
    expect(
      finished.steps.map((step: { name: string; status: string }) => `${step.name}:${step.status}`),
    ).toEqual([
      'validate:succeeded',
      'request:succeeded',
      'match:succeeded',
      'graph:succeeded',
      'provision:succeeded',
      'render:succeeded',
      'plan:succeeded',
      'apply:succeeded',
      'record:succeeded',
    ]);

    const answer = await viaGateway('web-dev-shop.localhost', '/hello');
    expect(answer.status).toBe(200);
    const served = JSON.parse(answer.text);
    expect(served).toMatchObject({
      name: 'web',
      path: '/hello',
      host: expect.stringContaining('web-dev-shop.localhost'),
    });
    expect(served.upstream).toMatchObject({ name: 'users', path: '/users' });

    const missing = await viaGateway('nobody.localhost', '/');
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('nobody.localhost');

    const status = await api.call('GET', '/api/v1/apps/shop/envs/dev/status');
    expect(status.status).toBe(200);
    const port = new URL(api.server.gatewayUrl).port;
    expect(status.body.deployment).toBe(1);
    const web = status.body.workloads.find((w: { name: string }) => w.name === 'web');
    expect(web).toMatchObject({
      state: 'ready',
      ready: true,
      endpoints: [`http://web-dev-shop.localhost:${port}/`],
    });

    // The SSE stream replays every event and ends with the deployment.
    const sse = await fetch(`${api.server.url}/api/v1/apps/shop/envs/dev/deployments/1/events`, {
      headers: { authorization: `Bearer ${api.token}` },
    });
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    const text = await sse.text();
    const events = text
      .split('\n\n')
      .filter((block) => block.includes('event: deployment-event'))
      .map(
        (block) =>
          JSON.parse(
            block
              .split('\n')
              .find((line) => line.startsWith('data: '))!
              .slice(6),
          ) as DeploymentEventJson,
      );
    const started = events
      .filter((event) => event.type === 'step.started')
      .map((event) => event.message.split(' ')[0]);
    expect(started).toEqual([
      'validate',
      'request',
      'match',
      'graph',
      'provision',
      'render',
      'plan',
      'apply',
      'record',
    ]);
    expect(events.map((event) => event.seq)).toEqual(events.map((_event, index) => index + 1));

    // The stored graph is served for the portal to draw: web's route depends on its dns.
    const graph = await api.call('GET', '/api/v1/apps/shop/envs/dev/deployments/1/graph');
    expect(graph.status).toBe(200);
    const ids = (graph.body.nodes as { id: string; kind: string }[]).map((node) => node.id);
    expect(ids).toContain('workload:web');
    const dns = (graph.body.nodes as { id: string; type?: string }[]).find((node) => node.type === 'dns');
    const route = (graph.body.nodes as { id: string; type?: string }[]).find((node) => node.type === 'route');
    expect(dns).toBeDefined();
    expect(route).toBeDefined();
    expect(graph.body.edges).toContainEqual(expect.objectContaining({ from: dns?.id, to: route?.id }));
    // Every node was provisioned (workloads: applied), each with when and how long.
    for (const node of graph.body.nodes as Record<string, unknown>[]) {
      expect(node, String(node.id)).toMatchObject({
        status: 'provisioned',
        startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        finishedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        durationMs: expect.any(Number),
      });
      expect(Date.parse(node.finishedAt as string)).toBeGreaterThanOrEqual(
        Date.parse(node.startedAt as string),
      );
    }
    const byId = new Map(
      (graph.body.nodes as { id: string; finishedAt: string; startedAt: string }[]).map((node) => [
        node.id,
        node,
      ]),
    );
    // The route started only once its dns was provisioned.
    expect(Date.parse(byId.get(route!.id)!.startedAt)).toBeGreaterThanOrEqual(
      Date.parse(byId.get(dns!.id)!.finishedAt),
    );
    expect(events.some((event) => event.type === 'resource.provisioned')).toBe(true);
    expect(
      events.some((event) => event.type === 'workload.ready' || event.type === 'workload.starting'),
    ).toBe(true);
    expect(text).toMatch(/event: end\ndata: .*"status":"succeeded"/);

    const logs = await api.call('GET', '/api/v1/apps/shop/envs/dev/workloads/web/logs?tail=50');
    expect(logs.status).toBe(200);
    expect(logs.text).toContain('served /hello');

    const resources = await api.call('GET', '/api/v1/apps/shop/envs/dev/resources');
    expect(resources.body.items.map((r: { type: string }) => r.type).sort()).toEqual([
      'dns',
      'route',
      'service-port',
    ]);
  });

  it('fails a deployment with a missing output at render, naming workload, variable and placeholder; the old one keeps serving', async () => {
    const answer = await deploy('dev', [
      { file: 'web/score.yaml', score: webScore({ version: '2', usersPort: 'prot' }) },
    ]);
    expect(answer.body.number).toBe(2);
    const failed = await waitFor('dev', 2);
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('workload "web" variable USERS_URL');
    expect(failed.error).toContain('${resources.users.prot}');
    expect(failed.steps.find((step: { name: string }) => step.name === 'render').status).toBe('failed');
    expect(failed.steps.find((step: { name: string }) => step.name === 'apply').status).toBe('skipped');
    expect(JSON.parse((await viaGateway('web-dev-shop.localhost', '/')).text).version).toBe('1');
  });

  it('records a failed resource in the graph with its error, and what it kept from running as skipped', async () => {
    expect(
      (await api.call('POST', '/api/v1/apps/shop/envs', { name: 'broken', type: 'development' })).status,
    ).toBe(201);
    // web asks for a port of workload "users", which this environment does not run.
    const answer = await deploy('broken', [{ file: 'web/score.yaml', score: webScore() }]);
    expect(answer.status).toBe(201);
    const failed = await waitFor('broken', answer.body.number);
    expect(failed.status).toBe('failed');
    expect(failed.steps.find((step: { name: string }) => step.name === 'provision').status).toBe('failed');

    const graph = await api.call(
      'GET',
      `/api/v1/apps/shop/envs/broken/deployments/${answer.body.number}/graph`,
    );
    expect(graph.status).toBe(200);
    const nodes = new Map(
      (graph.body.nodes as { id: string; type?: string; kind: string }[]).map((node) => [
        node.type ?? node.id,
        node as Record<string, unknown>,
      ]),
    );
    expect(nodes.get('service-port')).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('users'),
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
      durationMs: expect.any(Number),
    });
    expect(failed.error).toContain(nodes.get('service-port')?.error);
    // dns ran beside the failing resource and finished; the route waiting for it never started.
    expect(nodes.get('dns')).toMatchObject({ status: 'provisioned', durationMs: expect.any(Number) });
    expect(nodes.get('route')).toEqual(expect.objectContaining({ status: 'skipped' }));
    expect(nodes.get('route')?.startedAt).toBeUndefined();
    expect(nodes.get('workload:web')).toMatchObject({ status: 'skipped' });
  });

  it('fails on a readiness probe that never passes, with evidence, and keeps the old instance serving', async () => {
    const answer = await deploy('dev', [
      { file: 'web/score.yaml', score: webScore({ version: '3', healthy: false }) },
    ]);
    expect(answer.body.number).toBe(3);
    const failed = await waitFor('dev', 3);
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('workload "web"');
    expect(failed.error).toContain('/healthz');
    expect(failed.error).toContain('web listening');
    expect(JSON.parse((await viaGateway('web-dev-shop.localhost', '/')).text).version).toBe('1');
    const status = await api.call('GET', '/api/v1/apps/shop/envs/dev/status');
    expect(status.body.deployment).toBe(1);
  });

  it('queues a second deployment while the first runs, and cancels a queued one', async () => {
    const first = await deploy('qa', [{ file: 'users/score.yaml', score: usersScore() }]);
    const second = await deploy('qa', [{ file: 'users/score.yaml', score: usersScore('-2') }]);
    const third = await deploy('qa', [{ file: 'users/score.yaml', score: usersScore('-3') }]);
    expect([first.body.number, second.body.number, third.body.number]).toEqual([1, 2, 3]);
    expect(second.body.status).toBe('queued');
    const cancelled = await api.call('POST', '/api/v1/apps/shop/envs/qa/deployments/3/cancel');
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect((await waitFor('qa', 1)).status).toBe('succeeded');
    const secondDone = await waitFor('qa', 2);
    expect(secondDone.status).toBe('succeeded');
    expect(Date.parse(secondDone.startedAt)).toBeGreaterThanOrEqual(
      Date.parse((await waitFor('qa', 1)).finishedAt),
    );
    expect((await api.call('POST', '/api/v1/apps/shop/envs/qa/deployments/3/cancel')).status).toBe(409);
    const list = await api.call('GET', '/api/v1/apps/shop/envs/qa/deployments');
    expect(list.body.items.map((d: { number: number; status: string }) => `${d.number}:${d.status}`)).toEqual(
      ['3:cancelled', '2:succeeded', '1:succeeded'],
    );
  });

  it('keeps workloads serving across a restart and marks an interrupted deployment failed', async () => {
    await api.server.close();
    // A deployment a crashed server left running.
    const store = await openStore({ dataDir });
    try {
      const current = await store.deployments.current('shop', 'dev');
      await store.deployments.create({
        app: 'shop',
        env: 'dev',
        setId: 'sha256:x',
        actor: 'test',
        workloads: current!.workloads,
      });
      const claimed = await store.deployments.claimNext('shop', 'dev');
      expect(claimed?.status).toBe('running');
    } finally {
      await store.close();
    }
    api = await start();
    const interrupted = await waitFor('dev', 4);
    expect(interrupted.status).toBe('failed');
    expect(interrupted.error).toBe('the server stopped during this deployment; deploy again');
    const answer = await viaGateway('web-dev-shop.localhost', '/after-restart');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text).version).toBe('1');
  });
  it('provisions with an applied definition and records its name and version on the resource', async () => {
    expect(
      (await api.call('POST', '/api/v1/apps/shop/envs', { name: 'defs', type: 'development' })).status,
    ).toBe(201);
    const applied = await api.call('POST', '/api/v1/apply', {
      documents: [
        {
          file: 'platform/postgres.yaml',
          line: 1,
          apiVersion: 'paved.dev/v1',
          kind: 'ResourceDefinition',
          metadata: { name: 'dev-postgres' },
          spec: {
            type: 'postgres',
            driver: 'echo',
            inputs: { values: { host: 'db.internal', port: 5432 }, secrets: { password: 'pg-secret' } },
            criteria: [{ env_type: 'development' }],
          },
        },
        {
          file: 'platform/postgres.yaml',
          line: 12,
          apiVersion: 'paved.dev/v1',
          kind: 'ResourceDefinition',
          metadata: { name: 'prod-postgres' },
          spec: { type: 'postgres', driver: 'echo', criteria: [{ env_type: 'production' }] },
        },
      ],
    });
    expect(applied.body).toMatchObject({ created: 2 });
    const score = `${usersScore('-${resources.db.host}')}resources:
  db:
    type: postgres
`;
    const answer = await deploy('defs', [{ file: 'users/score.yaml', score }]);
    expect(answer.status).toBe(201);
    expect((await waitFor('defs', answer.body.number)).status).toBe('succeeded');
    const resources = await api.call('GET', '/api/v1/apps/shop/envs/defs/resources');
    expect(resources.body.items).toContainEqual(
      expect.objectContaining({
        type: 'postgres',
        definition: 'dev-postgres',
        definitionVersion: 1,
        outputs: { host: 'db.internal', port: 5432 },
        secrets: { password: '(secret)' },
      }),
    );
    expect(resources.text).not.toContain('pg-secret');

    const explained = await api.call(
      'GET',
      '/api/v1/apps/shop/envs/defs/workloads/users/resources/db/explain',
    );
    expect(explained.body).toEqual({
      app: 'shop',
      env: 'defs',
      workload: 'users',
      resource: 'db',
      uid: 'postgres.default#users.db',
      type: 'postgres',
      class: 'default',
      id: 'users.db',
      winner: { name: 'dev-postgres', version: 1 },
      candidates: [
        expect.objectContaining({ name: 'dev-postgres', version: 1, matched: true, specificity: 2 }),
        expect.objectContaining({
          name: 'prod-postgres',
          matched: false,
          reason:
            'criterion {env_type=production} needs env_type=production, the request has env_type=development',
        }),
        // The default for docker targets (a PostgreSQL container of its own) does not apply here.
        expect.objectContaining({
          name: 'default-postgres',
          fallback: true,
          matched: false,
          reason: 'only for environments on docker targets; it runs on a process target',
        }),
      ],
      active: { definition: 'dev-postgres', definitionVersion: 1, status: 'ready' },
    });
    expect(explained.text).not.toContain('pg-secret');
    const unknown = await api.call(
      'GET',
      '/api/v1/apps/shop/envs/defs/workloads/users/resources/cache/explain',
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('its resources are db');

    // A definition that made an active resource is not deleted, and nothing changes.
    const refused = await api.call('DELETE', '/api/v1/resource-definitions/dev-postgres');
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('CONFLICT');
    expect(refused.body.error.message).toMatch(
      /^resource definition "dev-postgres" made 1 active resource \(shop\/defs postgres\.default#users\.db\); nothing was deleted: .* or delete anyway with --force/,
    );
    expect(refused.body.error.details.resources).toEqual([
      { app: 'shop', env: 'defs', uid: 'postgres.default#users.db', status: 'ready', definitionVersion: 1 },
    ]);
    expect((await api.call('GET', '/api/v1/resource-definitions/dev-postgres')).body.version).toBe(1);
    const bad = await api.call('DELETE', '/api/v1/resource-definitions/dev-postgres?force=maybe');
    expect(bad.status).toBe(400);
    expect((await api.call('GET', '/api/v1/resource-definitions/dev-postgres')).status).toBe(200);

    // Forced: deleted, and the resource keeps its record, definition and version.
    const forced = await api.call('DELETE', '/api/v1/resource-definitions/dev-postgres?force=true');
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({
      name: 'dev-postgres',
      forced: true,
      resources: [expect.objectContaining({ env: 'defs', uid: 'postgres.default#users.db' })],
      message: expect.stringContaining('keep their records'),
    });
    expect((await api.call('GET', '/api/v1/resource-definitions/dev-postgres')).status).toBe(404);
    const kept = await api.call('GET', '/api/v1/apps/shop/envs/defs/resources');
    expect(kept.body.items).toContainEqual(
      expect.objectContaining({
        uid: 'postgres.default#users.db',
        definition: 'dev-postgres',
        definitionVersion: 1,
      }),
    );
    expect((await api.call('DELETE', '/api/v1/resource-definitions/dev-postgres')).status).toBe(404);
    expect((await api.call('DELETE', '/api/v1/resource-definitions/default-dns')).body.error.message).toMatch(
      /is a built-in default, which cannot be deleted/,
    );

    // With it gone nothing matches a postgres in development: the next deployment fails at
    // match, naming the resource and what to apply, and the environment keeps running.
    const next = await deploy('defs', [
      {
        file: 'users/score.yaml',
        score: usersScore('-${resources.db.port}') + 'resources:\n  db:\n    type: postgres\n',
      },
    ]);
    const unmatched = await waitFor('defs', next.body.number);
    expect(unmatched.status).toBe('failed');
    expect(unmatched.steps.find((step: { name: string }) => step.name === 'match').status).toBe('failed');
    expect(unmatched.error).toMatch(
      /resource "postgres\.default#users\.db" \(type postgres, class default\) asked for by workload "users" \(resources\.db\) in app "shop" env "defs" has no resource definition: .*"prod-postgres".* apply a ResourceDefinition for type postgres/,
    );
    expect((await api.call('GET', '/api/v1/apps/shop/envs/defs/status')).body.deployment).toBe(
      answer.body.number,
    );
    expect((await api.call('DELETE', '/api/v1/apps/shop/envs/defs')).status).toBe(200);
  });

  it("deprovisions a resource no longer asked for with its definition's inputs", async () => {
    // A command-driven resource: provisioning answers an output; deprovisioning writes a marker,
    // which only happens when the deprovision call carries the definition's command and args.
    const script = join(root, 'hook.sh');
    const marker = join(root, 'hook-deprovisioned');
    await writeFile(
      script,
      [
        '#!/bin/sh',
        'cat >/dev/null',
        'if [ "$PAVED_ACTION" = deprovision ]; then echo gone > "$1"; exit 0; fi',
        'echo \'{"resource_outputs":{"name":"hooked"}}\'',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    await api.call('PUT', `/api/v1/apps/shop/contexts/${context.hash}`, context.gzip, {
      'content-type': 'application/gzip',
    });
    expect(
      (await api.call('POST', '/api/v1/apps/shop/envs', { name: 'hooks', type: 'development' })).status,
    ).toBe(201);
    const applied = await api.call('POST', '/api/v1/apply', {
      documents: [
        {
          file: 'platform/hook.yaml',
          line: 1,
          apiVersion: 'paved.dev/v1',
          kind: 'ResourceDefinition',
          metadata: { name: 'dev-hook' },
          spec: {
            type: 'hook',
            driver: 'command',
            inputs: { values: { command: script, deprovisionArgs: [marker] } },
            criteria: [{ env_type: 'development' }],
          },
        },
      ],
    });
    expect(applied.status, applied.text).toBe(200);
    const withHook = `${usersScore('-${resources.hook.name}')}resources:
  hook:
    type: hook
`;
    const first = await deploy('hooks', [{ file: 'users/score.yaml', score: withHook }]);
    expect(first.status, first.text).toBe(201);
    expect((await waitFor('hooks', first.body.number)).status).toBe('succeeded');
    const second = await deploy('hooks', [{ file: 'users/score.yaml', score: usersScore() }]);
    expect((await waitFor('hooks', second.body.number)).status).toBe('succeeded');
    // Deprovisioned once the deployment is current: just after it is reported succeeded.
    await vi.waitFor(
      async () => {
        expect(await readFile(marker, 'utf8')).toBe('gone\n');
        const resources = await api.call('GET', '/api/v1/apps/shop/envs/hooks/resources');
        expect(resources.body.items.map((item: { type: string }) => item.type)).not.toContain('hook');
      },
      { timeout: 10_000, interval: 100 },
    );

    // Each change to infrastructure is in the audit log, with the deployment's actor.
    const audit = await api.call('GET', '/api/v1/apps/shop/audit?limit=500');
    expect(audit.status, audit.text).toBe(200);
    const changes = (
      audit.body.items as { action: string; object: string; outcome: string; actorName?: string }[]
    )
      .filter((entry) => entry.object.startsWith('shop/hooks/'))
      .map((entry) => [entry.action, entry.object, entry.outcome, entry.actorName]);
    expect(changes).toEqual(
      expect.arrayContaining([
        ['deployment.provision', 'shop/hooks/hook.default#users.hook', 'succeeded', 'admin'],
        ['deployment.apply', 'shop/hooks/users', 'succeeded', 'admin'],
        ['deployment.deprovision', 'shop/hooks/hook.default#users.hook', 'succeeded', 'admin'],
      ]),
    );
  });

  it('deletes an environment with its resources, keeping stateful data unless told to delete it', async () => {
    // Two command-driven resources, one declared stateful; deprovisioning writes a marker per
    // resource and reports (on stderr) where it "dumped" the data.
    const script = join(root, 'teardown.sh');
    await writeFile(
      script,
      [
        '#!/bin/sh',
        'cat >/dev/null',
        'if [ "$PAVED_ACTION" = deprovision ]; then echo "dumped to $1.dump" >&2; echo gone > "$1"; exit 0; fi',
        'echo \'{"resource_outputs":{"name":"x"}}\'',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    await api.call('PUT', `/api/v1/apps/shop/contexts/${context.hash}`, context.gzip, {
      'content-type': 'application/gzip',
    });
    // One definition per type and environment, so each deprovision writes its own marker.
    const definition = (env: string, type: string, stateful: boolean) => ({
      file: 'platform/teardown.yaml',
      line: 1,
      apiVersion: 'paved.dev/v1',
      kind: 'ResourceDefinition',
      metadata: { name: `${type}-${env}` },
      spec: {
        type,
        driver: 'command',
        ...(stateful ? { stateful: true } : {}),
        inputs: { values: { command: script, deprovisionArgs: [join(root, `marker-${type}-${env}`)] } },
        criteria: [{ env }],
      },
    });
    for (const env of ['gone', 'wiped']) {
      const documents = [definition(env, 'cache', false), definition(env, 'store', true)];
      expect((await api.call('POST', '/api/v1/apply', { documents })).status).toBe(200);
      expect(
        (await api.call('POST', '/api/v1/apps/shop/envs', { name: env, type: 'development' })).status,
      ).toBe(201);
      const score = `${usersScore()}resources:
  cache:
    type: cache
  store:
    type: store
`;
      const answer = await deploy(env, [{ file: 'users/score.yaml', score }]);
      expect((await waitFor(env, answer.body.number)).status).toBe('succeeded');
    }

    const kept = await api.call('DELETE', '/api/v1/apps/shop/envs/gone');
    expect(kept.status, kept.text).toBe(200);
    expect(kept.body).toMatchObject({
      deprovisioned: ['cache.default#users.cache'],
      kept: ['store.default#users.store'],
    });
    expect(await readFile(join(root, 'marker-cache-gone'), 'utf8')).toBe('gone\n');
    await expect(readFile(join(root, 'marker-store-gone'), 'utf8')).rejects.toThrow(/ENOENT/);

    const wiped = await api.call('DELETE', '/api/v1/apps/shop/envs/wiped?deleteData=true');
    expect(wiped.status, wiped.text).toBe(200);
    expect([...wiped.body.deprovisioned].sort()).toEqual([
      'cache.default#users.cache',
      'store.default#users.store',
    ]);
    expect(wiped.body.kept).toEqual([]);
    // The driver's report (its stderr) reaches the answer, under the resource it is about.
    expect(
      (wiped.body.messages as string[]).filter(
        (message) =>
          message.startsWith('store.default#users.store: ') &&
          message.includes(`dumped to ${join(root, 'marker-store-wiped')}.dump`),
      ),
    ).toHaveLength(1);
    expect(await readFile(join(root, 'marker-store-wiped'), 'utf8')).toBe('gone\n');
  });

  it('keeps a stateful resource a deploy no longer asks for, and deletes it on request after its dump', async () => {
    const script = join(root, 'stateful.sh');
    const marker = join(root, 'marker-pruned');
    await writeFile(
      script,
      [
        '#!/bin/sh',
        'cat >/dev/null',
        'if [ "$PAVED_ACTION" = deprovision ]; then echo "dumped to $1.dump" >&2; echo gone > "$1"; exit 0; fi',
        'echo \'{"resource_outputs":{"name":"x"}}\'',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    await api.call('PUT', `/api/v1/apps/shop/contexts/${context.hash}`, context.gzip, {
      'content-type': 'application/gzip',
    });
    const applied = await api.call('POST', '/api/v1/apply', {
      documents: [
        {
          file: 'platform/vault.yaml',
          line: 1,
          apiVersion: 'paved.dev/v1',
          kind: 'ResourceDefinition',
          metadata: { name: 'vault-pruned' },
          spec: {
            type: 'vault',
            driver: 'command',
            stateful: true,
            inputs: { values: { command: script, deprovisionArgs: [marker] } },
            criteria: [{ env: 'pruned' }],
          },
        },
      ],
    });
    expect(applied.status, applied.text).toBe(200);
    expect(
      (await api.call('POST', '/api/v1/apps/shop/envs', { name: 'pruned', type: 'development' })).status,
    ).toBe(201);
    const uid = 'vault.default#users.vault';
    const path = `/api/v1/apps/shop/envs/pruned/resources/${encodeURIComponent(uid)}`;
    const first = await deploy('pruned', [
      { file: 'users/score.yaml', score: `${usersScore()}resources:\n  vault:\n    type: vault\n` },
    ]);
    expect((await waitFor('pruned', first.body.number)).status).toBe('succeeded');

    const inUse = await api.call('DELETE', path);
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.message).toMatch(
      /is used by the current deployment; .* or delete it now with --force$/,
    );

    // The deploy that drops it keeps it (stateful), detached, with its data.
    const second = await deploy('pruned', [{ file: 'users/score.yaml', score: usersScore() }]);
    expect((await waitFor('pruned', second.body.number)).status).toBe('succeeded');
    const listed = await api.call('GET', '/api/v1/apps/shop/envs/pruned/resources');
    expect(listed.body.items).toEqual([expect.objectContaining({ uid, status: 'detached' })]);
    await expect(readFile(marker, 'utf8')).rejects.toThrow(/ENOENT/);

    const deleted = await api.call('DELETE', path);
    expect(deleted.status, deleted.text).toBe(200);
    expect(deleted.body.uid).toBe(uid);
    expect(
      deleted.body.messages.some((message: string) => message.includes(`dumped to ${marker}.dump`)),
    ).toBe(true);
    expect(await readFile(marker, 'utf8')).toBe('gone\n');
    expect((await api.call('GET', '/api/v1/apps/shop/envs/pruned/resources')).body.items).toEqual([]);
    expect((await api.call('DELETE', path)).status).toBe(404);
  });

  it('keeps environments on a kubernetes target, and refuses deploying to it, saying why', async () => {
    const applied = await api.call('POST', '/api/v1/apply', {
      documents: [
        {
          file: 'platform/targets.yaml',
          line: 1,
          secretRefs: { kubeconfig: { file: './kubeconfig' } },
          apiVersion: 'paved.dev/v1',
          kind: 'Target',
          metadata: { name: 'prod-cluster' },
          spec: {
            type: 'kubernetes',
            kubernetes: { kubeconfig: 'apiVersion: v1\nkind: Config', namespacePrefix: 'paved-' },
          },
        },
      ],
    });
    expect(applied.body).toMatchObject({ created: 1 });
    const created = await api.call('POST', '/api/v1/apps/shop/envs', {
      name: 'cluster',
      type: 'production',
      target: 'prod-cluster',
    });
    expect(created.status).toBe(201);
    const refused = await deploy('cluster', [{ file: 'users/score.yaml', score: usersScore() }]);
    expect(refused.status).toBe(503);
    expect(refused.body.error.message).toBe(
      'environment "cluster" of app "shop" runs on target "prod-cluster": target "prod-cluster" is a kubernetes target, and this version of Paved has no kubernetes runtime yet: nothing can be deployed to it; create the environment on another target (paved targets list)',
    );
    expect((await api.call('GET', '/api/v1/apps/shop/envs/cluster/deployments')).body.items).toEqual([]);
    // Nothing ever ran there, so it is deleted without a runtime.
    expect((await api.call('DELETE', '/api/v1/apps/shop/envs/cluster')).status).toBe(200);
  });
});
