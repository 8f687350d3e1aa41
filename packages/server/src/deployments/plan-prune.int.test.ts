/**
 * `deploy --plan`, partial deploys and `--prune` through a real server on the process target,
 * with a PostgreSQL database on the machine's shared server (127.0.0.1:5432, trust) and a volume:
 * a plan provisions and starts nothing and masks secrets; an unchanged redeploy, and a deploy that
 * only touches another workload, restart nothing (same process ids, no restarts counted); a
 * partial deploy keeps the workloads not given; a prune removes them but only detaches their
 * stateful resources, whose data stays.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the assertions are the types of API answers */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../start-server.js';
import { contextOf, type ContextTarball } from '../testing/context-tarball.js';
import { LogCapture } from '../testing/test-server.js';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
/** A secret value of the environment: it must never appear in a plan. */
const API_KEY = `key-${randomBytes(12).toString('hex')}`;

// Writes a marker into its volume (when it has one) and serves until stopped.
const SERVER_JS = `
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
if (process.env.DATA_DIR) writeFileSync(process.env.DATA_DIR + '/marker', 'written by ' + process.pid);
createServer((req, res) => res.end(JSON.stringify({ pid: process.pid, version: process.env.VERSION })))
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

function apiScore(version = '1'): string {
  return `apiVersion: score.dev/v1b1
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
    args: ["--key=\${resources.env.API_KEY}"]
    variables:
      VERSION: "${version}"
      API_KEY: \${resources.env.API_KEY}
    resources:
      limits:
        memory: 256Mi
resources:
  env:
    type: environment
`;
}

function workerScore(version = '1'): string {
  return `apiVersion: score.dev/v1b1
metadata:
  name: worker
service:
  ports:
    http:
      port: 8081
containers:
  main:
    image: .
    command: ["node", "server.mjs"]
    variables:
      VERSION: "${version}"
      DATA_DIR: ../root/data
      DB_HOST: \${resources.db.host}
      DB_NAME: \${resources.db.name}
      DB_URI: \${resources.db.uri}
    files:
      /etc/worker.conf:
        content: "db=\${resources.db.name}"
    volumes:
      /data:
        source: \${resources.data}
resources:
  db:
    type: postgres
  data:
    type: volume
`;
}

interface PlanAnswer {
  noChanges: boolean;
  summary: string;
  workloads: {
    name: string;
    action: string;
    reason: string;
    changes: { field: string; before?: string; after?: string }[];
  }[];
  resources: { uid: string; type: string; action: string; reason: string }[];
}

async function onPostgres<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL.replace(/\/postgres$/, `/${database}`) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function databasesOf(app: string): Promise<string[]> {
  return onPostgres('postgres', async (client) => {
    const rows = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname',
      [`paved_${app.replace(/-/g, '_')}_%`],
    );
    return rows.rows.map((row) => row.datname);
  });
}

describe('plan, partial deploys and prune on the process target', () => {
  const app = `pp-${randomBytes(4).toString('hex')}`;
  let root: string;
  let workDir: string;
  let server: RunningServer;
  let token: string;
  let context: ContextTarball;

  async function call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: any; text: string }> {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': body instanceof Uint8Array ? 'application/gzip' : 'application/json',
      },
      ...(body === undefined ? {} : { body: body instanceof Uint8Array ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown), text };
  }

  const request = (scores: Record<string, string>, extra: Record<string, unknown> = {}) => ({
    workloads: Object.entries(scores).map(([name, score]) => ({
      file: `${name}/score.yaml`,
      score,
      contexts: { main: context.hash },
    })),
    ...extra,
  });

  async function plan(
    scores: Record<string, string>,
    prune = false,
  ): Promise<{ body: PlanAnswer; text: string }> {
    const answer = await call(
      'POST',
      `/api/v1/apps/${app}/envs/dev/deployments`,
      request(scores, { plan: true, prune }),
    );
    expect(answer.status, answer.text).toBe(200);
    return { body: answer.body as PlanAnswer, text: answer.text };
  }

  async function deploy(scores: Record<string, string>, prune = false): Promise<any> {
    const created = await call(
      'POST',
      `/api/v1/apps/${app}/envs/dev/deployments`,
      request(scores, { prune }),
    );
    expect(created.status, created.text).toBe(201);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { body } = await call('GET', `/api/v1/apps/${app}/envs/dev/deployments/${created.body.number}`);
      if (['succeeded', 'failed', 'cancelled'].includes(body.status)) {
        expect(body.error).toBeUndefined();
        expect(body.status).toBe('succeeded');
        return body;
      }
      if (Date.now() > deadline) throw new Error(`deployment ${created.body.number} still ${body.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The live processes of a workload, found by their working directory (its context copy). */
  function pidsOf(workload: string): number[] {
    const prefix = join(workDir, app, 'dev', 'workloads', workload) + '/';
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (/\) [ZX] /.test(readFileSync(`/proc/${entry}/stat`, 'utf8'))) continue;
        if (readlinkSync(`/proc/${entry}/cwd`).startsWith(prefix)) pids.push(Number(entry));
      } catch {
        // Gone meanwhile, or not ours to read.
      }
    }
    return pids.sort();
  }

  /** Per workload: the deployment that started it and the restarts its supervisor counted. */
  async function status(): Promise<Record<string, { deployment: number; restarts: number; ready: boolean }>> {
    const { body } = await call('GET', `/api/v1/apps/${app}/envs/dev/status`);
    return Object.fromEntries(
      (
        body.workloads as {
          name: string;
          deployment: number;
          ready: boolean;
          containers: { restarts: number }[];
        }[]
      ).map((workload) => [
        workload.name,
        {
          deployment: workload.deployment,
          ready: workload.ready,
          restarts: (workload.containers as { restarts: number }[]).reduce(
            (sum, container) => sum + container.restarts,
            0,
          ),
        },
      ]),
    );
  }

  async function resources(): Promise<Record<string, string>> {
    const { body } = await call('GET', `/api/v1/apps/${app}/envs/dev/resources`);
    return Object.fromEntries(
      (body.items as { uid: string; status: string }[]).map((resource) => [resource.uid, resource.status]),
    );
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'paved-plan-prune-'));
    // Workloads run as nobody when the tests run as root: they must traverse to the workDir.
    await chmod(root, 0o711);
    workDir = join(root, 'work');
    const dataDir = join(root, '.paved');
    server = await startServer({
      dataDir,
      port: 0,
      gatewayPort: 0,
      logDestination: new LogCapture(),
      workDir,
      processTarget: { readinessTimeoutMs: 10_000, probeIntervalMs: 200, graceMs: 1000 },
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
    const values = await call('PATCH', `/api/v1/apps/${app}/envs/dev/values`, {
      set: [{ key: 'API_KEY', value: API_KEY, secret: true }],
    });
    expect(values.status, values.text).toBe(200);
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
      ],
    });
    expect(applied.status, applied.text).toBe(200);
  });

  afterAll(async () => {
    if (server !== undefined) {
      await call('DELETE', `/api/v1/apps/${app}/envs/dev?deleteData=true`);
      await call('DELETE', `/api/v1/resource-definitions/${app}-postgres?force=true`);
      await server.close();
    }
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('plans a first deploy field by field, provisioning and starting nothing, secrets masked', async () => {
    const { body, text } = await plan({ api: apiScore(), worker: workerScore() });
    expect(body.noChanges).toBe(false);
    expect(body.workloads.map((workload) => [workload.name, workload.action])).toEqual([
      ['api', 'create'],
      ['worker', 'create'],
    ]);
    const fields = (name: string): Record<string, string | undefined> =>
      Object.fromEntries(
        (body.workloads.find((workload) => workload.name === name)?.changes ?? []).map((change) => [
          change.field,
          change.after,
        ]),
      );
    expect(fields('api')).toMatchObject({
      'containers.main.image': '.',
      'containers.main.command': '["node","server.mjs"]',
      'containers.main.args': '["(secret)"]',
      'containers.main.variables.API_KEY': '(secret)',
      'containers.main.variables.VERSION': '1',
      'containers.main.limits': '{"memory":"256Mi"}',
      'ports.http': '{"port":8080,"protocol":"TCP","targetPort":8080}',
    });
    expect(fields('worker')).toMatchObject({
      'containers.main.variables.DB_HOST': '(known after provisioning)',
      'containers.main.variables.DB_NAME': '(known after provisioning)',
      'containers.main.variables.DB_URI': '(secret), (known after provisioning)',
      'containers.main.files./etc/worker.conf': '"db=(known after provisioning)"',
      // A volume's name has no side effect to wait for: the plan shows it.
      'containers.main.volumes./data': expect.stringContaining(`"source":"paved-${app}-dev-worker-data"`),
    });
    expect(body.resources.map((resource) => [resource.uid, resource.action]).sort()).toEqual([
      ['environment.default#api.env', 'create'],
      ['postgres.default#worker.db', 'create'],
      ['volume.default#worker.data', 'create'],
    ]);
    expect(text).not.toContain(API_KEY);

    // Nothing happened: no deployment, resource, database or process.
    expect((await call('GET', `/api/v1/apps/${app}/envs/dev/deployments`)).body.items).toEqual([]);
    expect(await resources()).toEqual({});
    expect(await databasesOf(app)).toEqual([]);
    expect([...pidsOf('api'), ...pidsOf('worker')]).toEqual([]);
    expect(await status()).toEqual({});
  });

  let apiPids: number[];
  let workerPids: number[];

  it('deploys, then plans the same files as "no changes"', async () => {
    await deploy({ api: apiScore(), worker: workerScore() });
    apiPids = pidsOf('api');
    workerPids = pidsOf('worker');
    expect(apiPids.length).toBeGreaterThan(0);
    expect(workerPids.length).toBeGreaterThan(0);
    expect(await databasesOf(app)).toHaveLength(1);

    const { body, text } = await plan({ api: apiScore(), worker: workerScore() });
    expect(body.noChanges).toBe(true);
    expect(body.summary).toMatch(/^no changes \(/);
    expect(body.workloads.map((workload) => [workload.name, workload.action, workload.changes])).toEqual([
      ['api', 'unchanged', []],
      ['worker', 'unchanged', []],
    ]);
    expect(body.resources.every((resource) => resource.action === 'unchanged')).toBe(true);
    expect(text).not.toContain(API_KEY);
  });

  it('restarts nothing when the same files are deployed again', async () => {
    const before = await status();
    const second = await deploy({ api: apiScore(), worker: workerScore() });
    expect(second.number).toBe(2);
    expect(pidsOf('api')).toEqual(apiPids);
    expect(pidsOf('worker')).toEqual(workerPids);
    expect(await status()).toEqual(before);
    expect(before).toEqual({
      api: { deployment: 1, ready: true, restarts: 0 },
      worker: { deployment: 1, ready: true, restarts: 0 },
    });
  });

  it('plans a changed secret value as an update, without showing either value', async () => {
    const changed = `key-${randomBytes(12).toString('hex')}`;
    const set = (value: string) =>
      call('PATCH', `/api/v1/apps/${app}/envs/dev/values`, {
        set: [{ key: 'API_KEY', value, secret: true }],
      });
    expect((await set(changed)).status).toBe(200);
    try {
      const { body, text } = await plan({ api: apiScore(), worker: workerScore() });
      expect(body.noChanges).toBe(false);
      expect(body.workloads[0]).toEqual({
        name: 'api',
        action: 'update',
        reason: 'spec changed',
        changes: [
          {
            field: 'containers.main.args',
            before: '["(secret)"]',
            after: '["(secret)"], a secret argument changed',
          },
          { field: 'containers.main.variables.API_KEY', before: '(secret)', after: '(secret)' },
        ],
      });
      expect(body.workloads[1]).toMatchObject({ name: 'worker', action: 'unchanged' });
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(changed);
    } finally {
      expect((await set(API_KEY)).status).toBe(200);
    }
  });

  it('keeps the workloads a partial deploy does not give, without restarting them', async () => {
    const { body } = await plan({ worker: workerScore('2') });
    expect(body.workloads.map((workload) => [workload.name, workload.action, workload.reason])).toEqual([
      ['api', 'unchanged', 'not given, kept as it runs; --prune removes it'],
      ['worker', 'update', 'spec changed'],
    ]);
    expect(body.workloads[1]?.changes).toEqual([
      { field: 'containers.main.variables.VERSION', before: '1', after: '2' },
    ]);

    const third = await deploy({ worker: workerScore('2') });
    expect(third.workloads).toEqual(['api', 'worker']);
    expect(pidsOf('api')).toEqual(apiPids);
    expect(pidsOf('worker')).not.toEqual(workerPids);
    const after = await status();
    expect(after.api).toEqual({ deployment: 1, ready: true, restarts: 0 });
    expect(after.worker).toMatchObject({ deployment: third.number, ready: true });
  });

  it('prunes the workloads not given, detaching their stateful resources with their data', async () => {
    const [database] = await databasesOf(app);
    await onPostgres(database!, async (client) => {
      await client.query('CREATE TABLE kept (note text)');
      await client.query("INSERT INTO kept VALUES ('still here')");
    });
    const volumes = join(workDir, app, 'dev', 'volumes');
    expect(readdirSync(volumes)).toHaveLength(1);
    const volume = join(volumes, readdirSync(volumes)[0]!);
    expect(readFileSync(join(volume, 'marker'), 'utf8')).toMatch(/^written by \d+$/);

    const { body } = await plan({ api: apiScore() }, true);
    expect(body.workloads.map((workload) => [workload.name, workload.action])).toEqual([
      ['api', 'unchanged'],
      ['worker', 'delete'],
    ]);
    expect(Object.fromEntries(body.resources.map((resource) => [resource.uid, resource.action]))).toEqual({
      'environment.default#api.env': 'unchanged',
      'postgres.default#worker.db': 'detach',
      'volume.default#worker.data': 'detach',
    });

    const pruned = await deploy({ api: apiScore() }, true);
    expect(pruned.workloads).toEqual(['api']);
    expect(pidsOf('worker')).toEqual([]);
    expect(pidsOf('api')).toEqual(apiPids);
    expect(Object.keys(await status())).toEqual(['api']);
    expect(await resources()).toEqual({
      'environment.default#api.env': 'ready',
      'postgres.default#worker.db': 'detached',
      'volume.default#worker.data': 'detached',
    });
    // The data is where it was.
    expect(await databasesOf(app)).toEqual([database]);
    expect(
      await onPostgres(
        database!,
        async (client) => (await client.query<{ note: string }>('SELECT note FROM kept')).rows,
      ),
    ).toEqual([{ note: 'still here' }]);
    expect(readFileSync(join(volume, 'marker'), 'utf8')).toMatch(/^written by \d+$/);
  });

  it('attaches the detached resources again, with their data, when the workload comes back', async () => {
    const [database] = await databasesOf(app);
    await deploy({ worker: workerScore('2') });
    expect(await resources()).toEqual({
      'environment.default#api.env': 'ready',
      'postgres.default#worker.db': 'ready',
      'volume.default#worker.data': 'ready',
    });
    expect(await databasesOf(app)).toEqual([database]);
    expect(
      await onPostgres(
        database!,
        async (client) => (await client.query<{ note: string }>('SELECT note FROM kept')).rows,
      ),
    ).toEqual([{ note: 'still here' }]);
    expect(pidsOf('api')).toEqual(apiPids);
  });
});
