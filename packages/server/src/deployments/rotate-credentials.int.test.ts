/**
 * `paved resources rotate-credentials` end to end: a real server on the process target, the
 * PostgreSQL on this machine (127.0.0.1:5432, trust authentication, so the password itself is
 * checked against the SCRAM verifier PostgreSQL stores), a workload serving the credentials it was
 * started with. Rotation gives a new login, redeploys, and revokes the old login.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the assertions are the types of API answers */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../start-server.js';
import { contextOf, type ContextTarball } from '../testing/context-tarball.js';
import { LogCapture } from '../testing/test-server.js';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

const SERVER_JS = `
import { createServer } from 'node:http';
createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ user: process.env.DB_USER, password: process.env.DB_PASSWORD, database: process.env.DB_NAME, greeting: process.env.GREETING }));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

const SCORE = `apiVersion: score.dev/v1b1
metadata:
  name: api
service:
  ports:
    http:
      port: 8080
containers:
  main:
    image: .
    command: ["node", "server.mjs"]
    variables:
      DB_USER: \${resources.db.username}
      DB_PASSWORD: \${resources.db.password}
      DB_NAME: \${resources.db.name}
      GREETING: \${resources.env.GREETING}
resources:
  env:
    type: environment
  db:
    type: postgres
  cache:
    type: redis
  dns:
    type: dns
  route:
    type: route
    params:
      host: \${resources.dns.host}
      path: /
      port: http
`;

/** Whether the SCRAM-SHA-256 verifier PostgreSQL stores for `role` was made from `password`. */
async function storedPasswordIs(role: string, password: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  let stored: string | null | undefined;
  try {
    const row = await client.query<{ rolpassword: string | null }>(
      'SELECT rolpassword FROM pg_authid WHERE rolname = $1',
      [role],
    );
    stored = row.rows[0]?.rolpassword;
  } finally {
    await client.end();
  }
  const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(stored ?? '');
  if (match === null) return false;
  const salted = pbkdf2Sync(password, Buffer.from(match[2]!, 'base64'), Number(match[1]), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest().toString('base64');
  const serverKey = createHmac('sha256', salted).update('Server Key').digest().toString('base64');
  return storedKey === match[3] && serverKey === match[4];
}

async function connectAs(user: string, password: string, database: string): Promise<number> {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user, password, database });
  await client.connect();
  try {
    return (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one;
  } finally {
    await client.end();
  }
}

describe('resources rotate-credentials', () => {
  const app = `rot-${randomBytes(4).toString('hex')}`;
  let root: string;
  let server: RunningServer;
  let token: string;
  let context: ContextTarball;

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

  async function waitFor(number: number): Promise<any> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { body } = await call('GET', `/api/v1/apps/${app}/envs/dev/deployments/${number}`);
      if (['succeeded', 'failed', 'cancelled'].includes(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`deployment ${number} still ${body.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** What the workload serves through the gateway: the credentials it was started with. */
  async function served(
    host: string,
  ): Promise<{ user: string; password: string; database: string; greeting?: string }> {
    const url = new URL(server.gatewayUrl);
    const text = await new Promise<string>((resolve, reject) => {
      httpRequest(
        { host: url.hostname, port: Number(url.port), path: '/', headers: { host: `${host}:${url.port}` } },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve(body));
        },
      )
        .on('error', reject)
        .end();
    });
    return JSON.parse(text) as { user: string; password: string; database: string; greeting?: string };
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'paved-rotate-'));
    // Workloads run as nobody when the tests run as root: they must traverse to the workDir.
    await chmod(root, 0o711);
    const dataDir = join(root, '.paved');
    server = await startServer({
      dataDir,
      port: 0,
      gatewayPort: 0,
      logDestination: new LogCapture(),
      workDir: join(root, 'work'),
      processTarget: { readinessTimeoutMs: 5000, probeIntervalMs: 200, graceMs: 1000 },
    });
    ({ token } = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as { token: string });
    context = await contextOf({ 'server.mjs': SERVER_JS });
    expect((await call('POST', '/api/v1/apps', { name: app })).status).toBe(201);
    expect(
      (await call('POST', `/api/v1/apps/${app}/envs`, { name: 'dev', type: 'development' })).status,
    ).toBe(201);
    expect((await call('PUT', `/api/v1/apps/${app}/contexts/${context.hash}`, context.gzip)).status).toBe(
      201,
    );
    const applied = await call('POST', '/api/v1/apply', {
      documents: [
        {
          file: 'platform/postgres.yaml',
          apiVersion: 'paved.dev/v1',
          kind: 'ResourceDefinition',
          metadata: { name: `${app}-postgres` },
          spec: {
            type: 'postgres',
            driver: 'postgres',
            inputs: { values: { host: '127.0.0.1', port: 5432, adminUser: 'postgres' }, secrets: {} },
            criteria: [{ app }],
          },
        },
        {
          file: 'platform/redis.yaml',
          apiVersion: 'paved.dev/v1',
          kind: 'ResourceDefinition',
          metadata: { name: `${app}-echo-redis` },
          spec: {
            type: 'redis',
            driver: 'echo',
            inputs: { values: { host: 'cache.internal' }, secrets: {} },
            criteria: [{ app }],
          },
        },
      ],
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  });

  afterAll(async () => {
    if (server !== undefined) {
      const deleted = await call('DELETE', `/api/v1/apps/${app}/envs/dev?deleteData=true`);
      expect(deleted.status, JSON.stringify(deleted.body)).toBeLessThan(300);
      for (const name of [`${app}-postgres`, `${app}-echo-redis`]) {
        await call('DELETE', `/api/v1/resource-definitions/${name}?force=true`);
      }
      await server.close();
    }
    await rm(root, { recursive: true, force: true });
  });

  it('rotates: new login, a redeploy serving it with the values of the deployment it redeploys, the old login revoked', async () => {
    const greeting = async (value: string): Promise<void> => {
      const set = await call('PATCH', `/api/v1/apps/${app}/values`, { set: [{ key: 'GREETING', value }] });
      expect(set.status, JSON.stringify(set.body)).toBe(200);
    };
    await greeting('hello');
    const created = await call('POST', `/api/v1/apps/${app}/envs/dev/deployments`, {
      workloads: [{ file: 'score.yaml', score: SCORE, contexts: { main: context.hash } }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const first = await waitFor(created.body.number);
    expect(first.error).toBeUndefined();
    expect(first.status).toBe('succeeded');

    const resources = (await call('GET', `/api/v1/apps/${app}/envs/dev/resources`)).body.items as any[];
    const db = resources.find((resource) => resource.type === 'postgres');
    const host = resources.find((resource) => resource.type === 'dns').outputs.host as string;
    expect(db).toMatchObject({ driver: 'postgres', status: 'ready' });

    const before = await served(host);
    expect(before.greeting).toBe('hello');
    expect(before.user).toMatch(/.+/);
    expect(await storedPasswordIs(before.user, before.password)).toBe(true);
    expect(await connectAs(before.user, before.password, before.database)).toBe(1);

    // A value changed since, not deployed yet: the rotation's redeploy must not ship it.
    await greeting('not deployed yet');
    const rotated = await call(
      'POST',
      `/api/v1/apps/${app}/envs/dev/resources/${encodeURIComponent(db.uid)}/rotate-credentials`,
    );
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect(rotated.body).toMatchObject({ uid: db.uid, deployment: created.body.number + 1, revoked: true });
    expect(JSON.stringify(rotated.body)).not.toContain(before.password);

    const redeploy = (
      await call('GET', `/api/v1/apps/${app}/envs/dev/deployments/${rotated.body.deployment}`)
    ).body;
    expect(redeploy).toMatchObject({
      status: 'succeeded',
      message: `rotate credentials of ${db.uid}`,
      workloads: ['api'],
      valuesVersions: first.valuesVersions,
    });

    const after = await served(host);
    expect(after.greeting).toBe('hello');
    expect(after.user).not.toBe(before.user);
    expect(after.password).not.toBe(before.password);
    expect(after.database).toBe(before.database);
    expect(await storedPasswordIs(after.user, after.password)).toBe(true);
    expect(await connectAs(after.user, after.password, after.database)).toBe(1);
    await expect(connectAs(before.user, before.password, before.database)).rejects.toThrow(
      /not permitted to log in/,
    );

    const audit = await call('GET', `/api/v1/audit?app=${app}`);
    const actions = (audit.body.items as any[]).map((entry) => `${entry.action} ${entry.outcome}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'resource.rotate-credentials succeeded',
        'resource.revoke-credentials succeeded',
      ]),
    );
    expect(JSON.stringify(audit.body)).not.toContain(after.password);
  });

  it('refuses an unknown resource, naming the resources there are', async () => {
    const answer = await call('POST', `/api/v1/apps/${app}/envs/dev/resources/nope/rotate-credentials`);
    expect(answer.status).toBe(404);
    expect(answer.body.error.message).toMatch(
      /has no resource "nope"; its resources are .*postgres\.default#api\.db/,
    );
  });

  it('refuses a resource whose driver hands out no credentials, naming the driver', async () => {
    const resources = (await call('GET', `/api/v1/apps/${app}/envs/dev/resources`)).body.items as any[];
    const cache = resources.find((resource) => resource.type === 'redis');
    expect(cache.driver).toBe('echo');
    const before = (await call('GET', `/api/v1/apps/${app}/envs/dev/deployments`)).body.items.length;
    const answer = await call(
      'POST',
      `/api/v1/apps/${app}/envs/dev/resources/${encodeURIComponent(cache.uid)}/rotate-credentials`,
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('INVALID_INPUT');
    expect(answer.body.error.message).toContain('driver "echo"');
    expect((await call('GET', `/api/v1/apps/${app}/envs/dev/deployments`)).body.items.length).toBe(before);
  });
});
