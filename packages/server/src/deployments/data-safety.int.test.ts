/**
 * Data safety, end to end: a real server on the process target, a workload with a `postgres`
 * resource on the machine's PostgreSQL (a row written into it) and a `volume` (a file in it).
 * Every way the data could be lost is tried, and the data is found still there: a deploy that no
 * longer asks for the resources, a rollback to before they existed, a prune that removes their
 * workload, deleting a resource still in use, deleting the environment without its data. The one
 * deliberate deletion, `resources delete`, leaves a dump that gives the row back.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the assertions are the types of API answers */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../start-server.js';
import { contextOf, type ContextTarball } from '../testing/context-tarball.js';
import { TestApi } from '../testing/safe-apply-app.js';
import { LogCapture } from '../testing/test-server.js';

const SERVER_JS = `
import { createServer } from 'node:http';
createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
`;

function workload(name: string, withData: boolean): string {
  return `apiVersion: score.dev/v1b1
metadata:
  name: ${name}
service:
  ports:
    http:
      port: 8080
containers:
  main:
    image: .
    command: ["node", "server.mjs"]
${
  withData
    ? `    variables:
      DB_NAME: \${resources.db.name}
    volumes:
      /data:
        source: \${resources.data}
resources:
  db:
    type: postgres
  data:
    type: volume
`
    : ''
}`;
}

async function onPostgres<T>(work: (client: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${database}` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const DB = 'postgres.default#web.db';
const VOLUME = 'volume.default#web.data';
const ROW = `precious-${randomBytes(4).toString('hex')}`;

describe('data safety: every way data could be lost, and the data still there', () => {
  const app = `safe-${randomBytes(4).toString('hex')}`;
  let root: string;
  let dataDir: string;
  let server: RunningServer;
  let api: TestApi;
  let context: ContextTarball;
  /** What each environment's resources were made as, for the checks and the clean-up. */
  const made = new Map<string, { database: string; volumeDir: string }>();

  async function deploy(
    env: string,
    workloads: [string, boolean][],
    more: Record<string, unknown> = {},
  ): Promise<any> {
    const answer = await api.call('POST', `/api/v1/apps/${app}/envs/${env}/deployments`, {
      workloads: workloads.map(([name, withData]) => ({
        file: `${name}/score.yaml`,
        score: workload(name, withData),
        contexts: { main: context.hash },
      })),
      ...more,
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return (await finished(env, answer.body.number as number)) as unknown;
  }

  async function finished(env: string, number: number): Promise<any> {
    for (;;) {
      const deployment = (await api.call('GET', `/api/v1/apps/${app}/envs/${env}/deployments/${number}`))
        .body as { status: string; error?: string };
      if (['succeeded', 'failed', 'cancelled'].includes(deployment.status)) {
        expect(deployment.status, JSON.stringify(deployment.error)).toBe('succeeded');
        return deployment;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function resources(env: string): Promise<Record<string, any>> {
    const items = (await api.call('GET', `/api/v1/apps/${app}/envs/${env}/resources`)).body.items as any[];
    return Object.fromEntries(items.map((item): [string, unknown] => [String(item.uid), item]));
  }

  /** Writes the row and the file once the environment's resources exist. */
  async function writeData(env: string): Promise<void> {
    const found = await resources(env);
    const database = String(found[DB].outputs.database);
    const volumeDir = join(root, 'work', app, env, 'volumes', String(found[VOLUME].outputs.source));
    made.set(env, { database, volumeDir });
    await onPostgres(async (client) => {
      await client.query('CREATE TABLE precious (v text)');
      await client.query('INSERT INTO precious VALUES ($1)', [ROW]);
    }, database);
    await mkdir(volumeDir, { recursive: true });
    await writeFile(join(volumeDir, 'precious.txt'), ROW);
  }

  /** The row is still readable and the file still there. */
  async function expectDataThere(env: string): Promise<void> {
    const { database, volumeDir } = made.get(env)!;
    const rows = await onPostgres(
      (client) => client.query<{ v: string }>('SELECT v FROM precious'),
      database,
    );
    expect(rows.rows).toEqual([{ v: ROW }]);
    expect(await readFile(join(volumeDir, 'precious.txt'), 'utf8')).toBe(ROW);
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'paved-data-safety-'));
    // Workloads run as nobody when the tests run as root: they must traverse to the workDir.
    await chmod(root, 0o711);
    dataDir = join(root, '.paved');
    server = await startServer({
      dataDir,
      port: 0,
      gatewayPort: 0,
      logDestination: new LogCapture(),
      workDir: join(root, 'work'),
      processTarget: { readinessTimeoutMs: 10_000, probeIntervalMs: 200, graceMs: 1000 },
    });
    api = await TestApi.of(server, dataDir);
    context = await contextOf({ 'server.mjs': SERVER_JS });
    expect((await api.call('POST', '/api/v1/apps', { name: app })).status).toBe(201);
    for (const env of ['dev', 'stage']) {
      const created = await api.call('POST', `/api/v1/apps/${app}/envs`, { name: env, type: 'development' });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
    }
    expect((await api.call('PUT', `/api/v1/apps/${app}/contexts/${context.hash}`, context.gzip)).status).toBe(
      201,
    );
    const applied = await api.call('POST', '/api/v1/apply', {
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
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  });

  afterAll(async () => {
    if (server !== undefined) {
      for (const env of ['dev', 'stage'])
        await api.call('DELETE', `/api/v1/apps/${app}/envs/${env}?deleteData=true`);
      await api.call('DELETE', `/api/v1/resource-definitions/${app}-postgres?force=true`);
      await server.close();
    }
    // What the tests kept on purpose (the environment deleted without its data) goes now.
    const start = `paved_${app.replace(/-/g, '_')}_`;
    await onPostgres(async (client) => {
      const databases = await client.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
        [start],
      );
      for (const { datname } of databases.rows) {
        await client.query(`DROP DATABASE ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
      }
      const roles = await client.query<{ rolname: string }>(
        'SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY length(rolname) DESC',
        [start],
      );
      for (const { rolname } of roles.rows) await client.query(`DROP ROLE ${pg.escapeIdentifier(rolname)}`);
    });
    await rm(root, { recursive: true, force: true });
  });

  it('a deploy that no longer asks for the resources detaches them and keeps the data', async () => {
    // Deployment 1 has no resources: the rollback below goes back past their creation.
    await deploy('dev', [
      ['web', false],
      ['worker', false],
    ]);
    await deploy('dev', [
      ['web', true],
      ['worker', false],
    ]);
    await writeData('dev');

    await deploy('dev', [['web', false]]);
    const after = await resources('dev');
    expect([after[DB].status, after[VOLUME].status]).toEqual(['detached', 'detached']);
    await expectDataThere('dev');

    // Asked for again, they come back as they were: the same database, the row in it.
    await deploy('dev', [['web', true]]);
    const back = await resources('dev');
    expect([back[DB].status, back[VOLUME].status]).toEqual(['ready', 'ready']);
    expect(back[DB].outputs.database).toBe(made.get('dev')!.database);
    await expectDataThere('dev');
  });

  it('a rollback to a deployment from before the resources existed keeps the data', async () => {
    const answer = await api.call('POST', `/api/v1/apps/${app}/envs/dev/rollback`, { deployment: 1 });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    await finished('dev', answer.body.number as number);
    const after = await resources('dev');
    expect([after[DB].status, after[VOLUME].status]).toEqual(['detached', 'detached']);
    await expectDataThere('dev');
  });

  it('a --prune deploy that removes the workload keeps its data', async () => {
    await deploy('dev', [
      ['web', true],
      ['worker', false],
    ]);
    expect((await resources('dev'))[DB].status).toBe('ready');
    const pruned = await deploy('dev', [['worker', false]], { prune: true });
    expect(pruned.workloads).toEqual(['worker']);
    const after = await resources('dev');
    expect([after[DB].status, after[VOLUME].status]).toEqual(['detached', 'detached']);
    await expectDataThere('dev');
  });

  it('deleting a resource in use is refused without --force', async () => {
    await deploy('dev', [['web', true]]);
    for (const uid of [DB, VOLUME]) {
      const refused = await api.call(
        'DELETE',
        `/api/v1/apps/${app}/envs/dev/resources/${encodeURIComponent(uid)}`,
      );
      expect(refused.status, JSON.stringify(refused.body)).toBe(409);
      expect(refused.body.error.message).toContain(
        `resource "${uid}" of ${app}/dev is used by the current deployment`,
      );
      expect(refused.body.error.message).toContain('--force');
    }
    await expectDataThere('dev');
  });

  it('resources delete dumps the database first, says where, and the dump gives the row back', async () => {
    await deploy('dev', [['web', false]]);
    const { database } = made.get('dev')!;
    const deleted = await api.call(
      'DELETE',
      `/api/v1/apps/${app}/envs/dev/resources/${encodeURIComponent(DB)}`,
    );
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    const said = (deleted.body.messages as string[]).join('\n');
    const dump = /dumped database "[^"]+" to (\S+\.dump)/.exec(said)?.[1];
    expect(dump, said).toBeDefined();
    expect(dump!.startsWith(join(dataDir, 'dumps', app, 'dev'))).toBe(true);
    expect(
      await onPostgres((client) => client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])),
    ).toMatchObject({ rowCount: 0 });

    const scratch = `paved_restore_${randomBytes(4).toString('hex')}`;
    await onPostgres((client) => client.query(`CREATE DATABASE ${scratch}`));
    try {
      execFileSync('pg_restore', [
        '--no-owner',
        '--no-privileges',
        '-h',
        '127.0.0.1',
        '-U',
        'postgres',
        '-d',
        scratch,
        dump!,
      ]);
      const rows = await onPostgres(
        (client) => client.query<{ v: string }>('SELECT v FROM precious'),
        scratch,
      );
      expect(rows.rows).toEqual([{ v: ROW }]);
    } finally {
      await onPostgres((client) => client.query(`DROP DATABASE ${scratch} WITH (FORCE)`));
    }

    // A volume on the process target is a directory the runtime removes only with the
    // environment's data: deleting the resource forgets its name and keeps the files.
    const volume = await api.call(
      'DELETE',
      `/api/v1/apps/${app}/envs/dev/resources/${encodeURIComponent(VOLUME)}`,
    );
    expect(volume.status, JSON.stringify(volume.body)).toBe(200);
    expect(existsSync(join(made.get('dev')!.volumeDir, 'precious.txt'))).toBe(true);
  });

  it('envs delete without --delete-data keeps the database and the volume, and says so', async () => {
    await deploy('stage', [['web', true]]);
    await writeData('stage');
    const deleted = await api.call('DELETE', `/api/v1/apps/${app}/envs/stage`);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(deleted.body.kept.sort()).toEqual([DB, VOLUME].sort());
    expect(deleted.body.deprovisioned).not.toContain(DB);
    expect((await api.call('GET', `/api/v1/apps/${app}/envs/stage`)).status).toBe(404);
    await expectDataThere('stage');
  });
});
