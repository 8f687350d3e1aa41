/**
 * `paved admin rotate-master-key` through a real server, on SQLite and on PostgreSQL: every sealed
 * value of every table moves to the new key (the database is read with the engine's own client,
 * not through the store), the old key file opens nothing afterwards, fingerprints follow the key,
 * deployments keep working, and a rotation a crash interrupted finishes when the server starts.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the assertions are the types of API answers */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Dialect } from '@paved/store';
import { createTestStore, type TestStore } from '@paved/store/testing/test-databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../start-server.js';
import { contextOf, type ContextTarball } from '../testing/context-tarball.js';
import { dumpDatabase } from '../testing/database-dump.js';
import { LogCapture } from '../testing/test-server.js';
import { SecretBox, masterKeyId } from './secret-box.js';

const SERVER_JS = `
import { createServer } from 'node:http';
createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ apiKey: process.env.API_KEY, cachePassword: process.env.CACHE_PASSWORD, round: process.env.ROUND }));
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
      API_KEY: \${resources.env.API_KEY}
      CACHE_PASSWORD: \${resources.cache.password}
      ROUND: \${resources.env.ROUND}
resources:
  env:
    type: environment
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

const SEALED = /v1:([0-9a-f]{16}):[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+){3}/g;

describe.each<Dialect>(['sqlite', 'postgres'])('paved admin rotate-master-key [%s]', (engine) => {
  const app = `mk-${randomBytes(4).toString('hex')}`;
  const apiKey = `api-key-${randomBytes(8).toString('hex')}`;
  const cachePassword = `cache-pw-${randomBytes(8).toString('hex')}`;
  const registryPassword = `registry-pw-${randomBytes(8).toString('hex')}`;
  let database: TestStore | undefined;
  let databaseUrl: string | undefined;
  let root: string;
  let dataDir: string;
  let server: RunningServer | undefined;
  let token: string;
  let context: ContextTarball;

  async function start(): Promise<void> {
    server = await startServer({
      dataDir,
      port: 0,
      gatewayPort: 0,
      logDestination: new LogCapture(),
      workDir: join(root, 'work'),
      processTarget: { readinessTimeoutMs: 5000, probeIntervalMs: 200, graceMs: 1000 },
      ...(databaseUrl === undefined ? {} : { databaseUrl }),
    });
  }

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${server!.url}${path}`, {
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

  const documents = [
    {
      file: 'platform/cache.yaml',
      line: 1,
      apiVersion: 'paved.dev/v1',
      kind: 'ResourceDefinition',
      metadata: { name: `${app}-cache` },
      spec: {
        type: 'redis',
        driver: 'echo',
        inputs: { values: { host: 'cache.internal' }, secrets: { password: cachePassword } },
        criteria: [{ app }],
      },
    },
    {
      file: 'platform/targets.yaml',
      line: 1,
      apiVersion: 'paved.dev/v1',
      kind: 'Target',
      metadata: { name: `${app}-docker` },
      spec: {
        type: 'docker',
        docker: {
          host: 'tcp://10.0.0.5:2375',
          registries: { '127.0.0.1:5001': { username: 'paved-test', password: registryPassword } },
        },
      },
    },
  ];

  /** Deploys with ROUND set to `round` and returns what the workload was started with. */
  async function deploy(round: string): Promise<{ apiKey: string; cachePassword: string; round: string }> {
    const set = await call('PATCH', `/api/v1/apps/${app}/envs/dev/values`, {
      set: [{ key: 'ROUND', value: round }],
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const created = await call('POST', `/api/v1/apps/${app}/envs/dev/deployments`, {
      workloads: [{ file: 'score.yaml', score: SCORE, contexts: { main: context.hash } }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    let deployment = created.body;
    const deadline = Date.now() + 60_000;
    while (!['succeeded', 'failed', 'cancelled'].includes(deployment.status)) {
      if (Date.now() > deadline)
        throw new Error(`deployment ${created.body.number} still ${deployment.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      deployment = (await call('GET', `/api/v1/apps/${app}/envs/dev/deployments/${created.body.number}`))
        .body;
    }
    expect(deployment.error).toBeUndefined();
    expect(deployment.status).toBe('succeeded');
    const resources = (await call('GET', `/api/v1/apps/${app}/envs/dev/resources`)).body.items as any[];
    const host = resources.find((resource) => resource.type === 'dns').outputs.host as string;
    return JSON.parse(await viaGateway(host)) as { apiKey: string; cachePassword: string; round: string };
  }

  async function viaGateway(host: string): Promise<string> {
    const url = new URL(server!.gatewayUrl);
    return new Promise<string>((resolve, reject) => {
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
  }

  /** Every sealed value in the database, by the key id it names, with where it is. */
  async function sealedValues(): Promise<{ keyId: string; sealed: string; where: string }[]> {
    const cells = await dumpDatabase({ dataDir, ...(databaseUrl === undefined ? {} : { databaseUrl }) });
    return cells.flatMap((cell) =>
      [...cell.value.matchAll(SEALED)].map((match) => ({
        keyId: match[1]!,
        sealed: match[0],
        where: `${cell.table}.${cell.column}`,
      })),
    );
  }

  const currentKey = () => readFile(join(dataDir, 'master.key'));

  beforeAll(async () => {
    if (engine === 'postgres') {
      database = await createTestStore('postgres');
      await database.store.close();
      databaseUrl = database.options.databaseUrl;
    }
    root = await mkdtemp(join(tmpdir(), 'paved-master-key-'));
    // Workloads run as nobody when the tests run as root: they must traverse to the workDir.
    await chmod(root, 0o711);
    dataDir = join(root, '.paved');
    await start();
    ({ token } = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as { token: string });
    context = await contextOf({ 'server.mjs': SERVER_JS });
    expect((await call('POST', '/api/v1/apps', { name: app })).status).toBe(201);
    expect(
      (await call('POST', `/api/v1/apps/${app}/envs`, { name: 'dev', type: 'development' })).status,
    ).toBe(201);
    expect((await call('PUT', `/api/v1/apps/${app}/contexts/${context.hash}`, context.gzip)).status).toBe(
      201,
    );
    const secret = await call('PATCH', `/api/v1/apps/${app}/envs/dev/values`, {
      set: [{ key: 'API_KEY', value: apiKey, secret: true }],
    });
    expect(secret.status, JSON.stringify(secret.body)).toBe(200);
    const applied = await call('POST', '/api/v1/apply', { documents });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  }, 60_000);

  afterAll(async () => {
    if (server !== undefined) {
      await call('DELETE', `/api/v1/apps/${app}/envs/dev?deleteData=true`);
      await call('DELETE', `/api/v1/resource-definitions/${app}-cache?force=true`);
      await server.close();
    }
    await database?.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  it('re-wraps every sealed value of every table, retires the old key and keeps deployments working', async () => {
    expect(await deploy('1')).toEqual({ apiKey, cachePassword, round: '1' });

    const oldKey = await currentKey();
    const oldId = masterKeyId(oldKey);
    const before = await sealedValues();
    const tables = (values: { where: string }[]) => new Set(values.map((value) => value.where.split('.')[0]));
    // Values, definitions, targets, resources and deployments all hold sealed values by now.
    expect(tables(before)).toEqual(
      new Set(['value_changes', 'resource_definitions', 'targets', 'active_resources', 'deployments']),
    );
    expect(before.every((value) => value.keyId === oldId)).toBe(true);

    const rotated = await call('POST', '/api/v1/admin/rotate-master-key');
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const newKey = await currentKey();
    const newId = masterKeyId(newKey);
    expect(newId).not.toBe(oldId);
    expect(rotated.body).toEqual({
      keyId: newId,
      previousKeyId: oldId,
      resumed: false,
      rewrapped: {
        values: before.filter((value) => value.where.startsWith('value_changes.')).length,
        definitions: before.filter((value) => value.where.startsWith('resource_definitions.')).length,
        targets: before.filter((value) => value.where.startsWith('targets.')).length,
        resources: before.filter((value) => value.where.startsWith('active_resources.')).length,
        deployments: before.filter((value) => value.where.startsWith('deployments.')).length,
      },
    });
    const answer = JSON.stringify(rotated.body);
    for (const secret of [apiKey, cachePassword, registryPassword]) expect(answer).not.toContain(secret);
    await expect(stat(join(dataDir, 'master.key.next'))).rejects.toThrow(/ENOENT/);
    expect((await stat(join(dataDir, 'master.key'))).mode & 0o777).toBe(0o600);

    const after = await sealedValues();
    expect(after.filter((value) => value.keyId !== newId)).toEqual([]);
    expect(after).toHaveLength(before.length);
    // The old key file opens nothing any more; the new one opens everything.
    const oldBox = new SecretBox(oldKey);
    const newBox = new SecretBox(newKey);
    for (const value of after) {
      expect(() => oldBox.open(value.sealed), value.where).toThrow(/which this server does not have/);
      expect(() => newBox.open(value.sealed), value.where).not.toThrow();
    }

    // Fingerprints follow the key: the same documents are still unchanged.
    const again = await call('POST', '/api/v1/apply', { documents });
    expect(again.body).toMatchObject({ created: 0, updated: 0, unchanged: 2 });

    // The running server seals and opens with the new key, and so does a restarted one.
    expect(await deploy('2')).toEqual({ apiKey, cachePassword, round: '2' });
    await server!.close();
    server = undefined;
    await start();
    expect(await deploy('3')).toEqual({ apiKey, cachePassword, round: '3' });
    expect((await sealedValues()).every((value) => value.keyId === newId)).toBe(true);

    const audit = await call('GET', '/api/v1/audit?action=POST%20%2Fapi%2Fv1%2Fadmin%2Frotate-master-key');
    expect(audit.body.items).toEqual([
      expect.objectContaining({
        outcome: 'succeeded',
        details: expect.objectContaining({ keyId: newId, previousKeyId: oldId }),
      }),
    ]);
  }, 180_000);

  it('finishes a rotation that stopped before its transaction committed', async () => {
    await server!.close();
    server = undefined;
    const oldId = masterKeyId(await currentKey());
    // The crash came right after the next key reached the disk: nothing is wrapped with it yet.
    const next = randomBytes(32);
    await writeFile(join(dataDir, 'master.key.next'), next, { mode: 0o600 });
    await start();
    expect(masterKeyId(await currentKey())).toBe(masterKeyId(next));
    await expect(stat(join(dataDir, 'master.key.next'))).rejects.toThrow(/ENOENT/);
    const values = await sealedValues();
    expect(values.length).toBeGreaterThan(0);
    expect(values.filter((value) => value.keyId !== masterKeyId(next))).toEqual([]);
    expect(oldId).not.toBe(masterKeyId(next));
    expect(await deploy('4')).toEqual({ apiKey, cachePassword, round: '4' });
  }, 120_000);

  it('finishes a rotation that stopped after its transaction committed', async () => {
    await server!.close();
    server = undefined;
    const current = await currentKey();
    const next = randomBytes(32);
    await writeFile(join(dataDir, 'master.key.next'), next, { mode: 0o600 });
    // The crash came after the commit, before master.key was replaced: every value is under the
    // next key, and master.key still holds the old one.
    const store = await openStore({ dataDir, ...(databaseUrl === undefined ? {} : { databaseUrl }) });
    try {
      const box = new SecretBox(next, [current]);
      await store.sealed.rewrapAll({ rewrap: (sealed) => box.rewrap(sealed) });
    } finally {
      await store.close();
    }
    expect((await sealedValues()).every((value) => value.keyId === masterKeyId(next))).toBe(true);
    expect(masterKeyId(await currentKey())).toBe(masterKeyId(current));

    await start();
    expect(masterKeyId(await currentKey())).toBe(masterKeyId(next));
    await expect(stat(join(dataDir, 'master.key.next'))).rejects.toThrow(/ENOENT/);
    expect(await deploy('5')).toEqual({ apiKey, cachePassword, round: '5' });
    // The fingerprints were recomputed too: the same documents are unchanged.
    const again = await call('POST', '/api/v1/apply', { documents });
    expect(again.body).toMatchObject({ created: 0, updated: 0, unchanged: 2 });
  }, 120_000);

  it('refuses everyone but administrators', async () => {
    const user = await call('POST', '/api/v1/users', {
      name: `${app}-user`,
      password: 'a long enough password 1',
    });
    expect(user.status, JSON.stringify(user.body)).toBe(201);
    const login = await fetch(`${server!.url}/api/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: `${app}-user`, password: 'a long enough password 1', expires: '1h' }),
    });
    const { token: userToken } = (await login.json()) as { token: string };
    const refused = await fetch(`${server!.url}/api/v1/admin/rotate-master-key`, {
      method: 'POST',
      headers: { authorization: `Bearer ${userToken}` },
    });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('master-key.rotate');
    await expect(stat(join(dataDir, 'master.key.next'))).rejects.toThrow(/ENOENT/);
  });
});
