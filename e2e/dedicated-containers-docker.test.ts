// Dedicated containers on the docker target, as a user gets them: with no resource definition
// applied, `resources: {db: {type: postgres}, cache: {type: redis}}` deployed through the built
// `paved` CLI starts a PostgreSQL and a Redis of their own for the environment (the default
// definitions, driver `container`, official image names that the test setup builds from the
// host's servers). The workload writes to both; the test then reads the data from the host,
// straight from those containers' servers. A process environment asking for the same gets the
// plan-time error naming the type and what to apply; deleting the environment with --delete-data
// leaves nothing on the engine.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, isolatedEnv, ROOT, runPaved, startPavedServer } from './helpers/paved-cli.js';
import type { PavedRun, PavedServerProcess } from './helpers/paved-cli.js';

const SOCKET = (process.env.PAVED_TEST_DOCKER_HOST ?? 'unix:///run/paved-test/podman.sock').replace(
  /^unix:\/\//,
  '',
);
const APP = `dedicated-${randomBytes(3).toString('hex')}`;
/** What the workload writes to both servers: this run's own. */
const TOKEN = `token-${randomBytes(6).toString('hex')}`;

let root: string;
let app: string;
let server: PavedServerProcess;
let env: NodeJS.ProcessEnv;

function paved(...args: string[]): Promise<PavedRun> {
  return runPaved(args, { env });
}

async function ok(...args: string[]): Promise<PavedRun> {
  const run = await paved(...args);
  expect(run.code, `paved ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

function engine(path: string): Promise<unknown> {
  return new Promise((done, fail) => {
    const request = httpRequest({ socketPath: SOCKET, path, headers: { host: 'engine' } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        if ((response.statusCode ?? 0) >= 300) fail(new Error(`engine GET ${path}: ${body}`));
        else done(JSON.parse(body));
      });
    });
    request.on('error', fail);
    request.end();
  });
}

interface EngineContainer {
  Id: string;
  Names: string[];
  Labels: Record<string, string>;
}

function labelled(labels: string[]): string {
  return encodeURIComponent(JSON.stringify({ label: labels }));
}

/** The resource's server container as the engine reports it: its env and published port. */
async function serverContainer(
  type: string,
  port: number,
): Promise<{ name: string; env: Record<string, string>; hostPort: number; image: string }> {
  const list = (await engine(
    `/containers/json?filters=${labelled([`dev.paved.app=${APP}`, `dev.paved.resource=${type}.default#writer.${type === 'postgres' ? 'db' : 'cache'}`])}`,
  )) as EngineContainer[];
  expect(list).toHaveLength(1);
  const info = (await engine(`/containers/${list[0]!.Id}/json`)) as {
    Name: string;
    Config: { Env: string[]; Image: string };
    NetworkSettings: { Ports: Record<string, { HostPort: string }[] | null> };
  };
  const variables = Object.fromEntries(
    info.Config.Env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
  return {
    name: info.Name.replace(/^\//, ''),
    env: variables,
    hostPort: Number(info.NetworkSettings.Ports[`${port}/tcp`]?.[0]?.HostPort),
    image: info.Config.Image,
  };
}

async function ownedByApp(): Promise<{ containers: number; volumes: number }> {
  const filters = labelled([`dev.paved.app=${APP}`]);
  const [containers, volumes] = await Promise.all([
    engine(`/containers/json?all=true&filters=${filters}`) as Promise<unknown[]>,
    engine(`/volumes?filters=${filters}`) as Promise<{ Volumes: unknown[] | null }>,
  ]);
  return { containers: containers.length, volumes: (volumes.Volumes ?? []).length };
}

/** Copies npm packages and everything they depend on from the repository's node_modules. */
async function copyPackages(names: string[], into: string): Promise<void> {
  const seen = new Set<string>();
  const pending = [...names];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const from = join(ROOT, 'node_modules', name);
    const manifest = JSON.parse(await readFile(join(from, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    await cp(from, join(into, 'node_modules', name), { recursive: true });
    pending.push(...Object.keys(manifest.dependencies ?? {}));
  }
}

const WRITER = `import http from 'node:http';
import pg from 'pg';
import { Redis } from 'ioredis';

let ready = false;
async function write() {
  const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  await db.query('create table if not exists visits (token text)');
  await db.query('insert into visits values ($1)', [process.env.TOKEN]);
  await db.end();
  const cache = new Redis({
    host: process.env.REDIS_HOST,
    port: Number(process.env.REDIS_PORT),
    username: process.env.REDIS_USERNAME,
    password: process.env.REDIS_PASSWORD,
  });
  await cache.set(process.env.REDIS_PREFIX + 'token', process.env.TOKEN);
  cache.disconnect();
}
write().then(
  () => {
    ready = true;
    console.log('wrote the token to PostgreSQL and Redis');
  },
  (error) => {
    console.error('writing failed:', error.message);
    process.exit(1);
  },
);
http
  .createServer((request, response) => {
    response.writeHead(ready ? 200 : 503);
    response.end(ready ? 'written' : 'writing');
  })
  .listen(8080);
`;

const SCORE = `apiVersion: score.dev/v1b1
metadata:
  name: writer
service:
  ports:
    web:
      port: 8080
containers:
  main:
    image: .
    command: ['node', 'writer.mjs']
    variables:
      TOKEN: ${TOKEN}
      DATABASE_URL: \${resources.db.uri}
      REDIS_HOST: \${resources.cache.host}
      REDIS_PORT: \${resources.cache.port}
      REDIS_USERNAME: \${resources.cache.username}
      REDIS_PASSWORD: \${resources.cache.password}
      REDIS_PREFIX: \${resources.cache.prefix}
    readinessProbe:
      httpGet:
        path: /healthz
        port: 8080
resources:
  db:
    type: postgres
  cache:
    type: redis
`;

beforeAll(async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), 'paved-e2e-dedicated-'));
  await mkdir(join(root, 'home'));
  app = join(root, 'writer');
  await mkdir(app);
  await writeFile(join(app, 'writer.mjs'), WRITER);
  await writeFile(join(app, 'package.json'), '{"type": "module"}\n');
  await writeFile(join(app, 'score.yaml'), SCORE);
  await writeFile(
    join(app, 'Containerfile'),
    'FROM localhost/node-local:20\nWORKDIR /app\nCOPY . /app\nCMD ["node", "writer.mjs"]\n',
  );
  await copyPackages(['pg', 'ioredis'], app);
  const base = isolatedEnv(join(root, 'home'), { DOCKER_HOST: `unix://${SOCKET}` });
  server = await startPavedServer(['--port', '0', '--gateway-port', '0', '--data-dir', join(root, 'data')], {
    env: base,
  });
  env = { ...base, PAVED_URL: server.url, PAVED_DATA_DIR: join(root, 'data') };
});

afterAll(async () => {
  if (server !== undefined) {
    await paved('envs', 'delete', APP, 'dev', '--delete-data').catch(() => undefined);
    await server.stop();
  }
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('dedicated containers for postgres and redis on the docker target', () => {
  it('deploys a workload using postgres and redis with no resource definition applied', async () => {
    await ok('apps', 'create', APP);
    await ok('envs', 'create', APP, 'dev', '--type', 'development', '--target', 'docker');
    const definitions = await ok('resources', 'definitions', 'list', '-o', 'json');
    expect(JSON.parse(definitions.stdout)).toEqual([]);
    const run = await ok('deploy', APP, 'dev', join(app, 'score.yaml'), '--wait');
    expect(run.stderr).toMatch(new RegExp(`Deployment 1 of ${APP}/dev succeeded`));
    const resources = await ok('resources', 'list', APP, 'dev', '-o', 'json');
    const listed = JSON.parse(resources.stdout) as { uid: string; definition: string; driver: string }[];
    expect(listed).toContainEqual(
      expect.objectContaining({
        uid: 'postgres.default#writer.db',
        definition: 'default-postgres',
        driver: 'container',
      }),
    );
    expect(listed).toContainEqual(
      expect.objectContaining({
        uid: 'redis.default#writer.cache',
        definition: 'default-redis',
        driver: 'container',
      }),
    );
  });

  it('put the data in the PostgreSQL container of the resource', async () => {
    const postgres = await serverContainer('postgres', 5432);
    expect(postgres.image).toMatch(/postgres:15$/);
    const client = new pg.Client({
      host: '127.0.0.1',
      port: postgres.hostPort,
      user: postgres.env.POSTGRES_USER,
      password: postgres.env.POSTGRES_PASSWORD,
      database: postgres.env.POSTGRES_DB,
    });
    await client.connect();
    const rows = await client.query('select token from visits');
    await client.end();
    expect(rows.rows).toEqual([{ token: TOKEN }]);
  });

  it('put the data in the Redis container of the resource', async () => {
    const redis = await serverContainer('redis', 6379);
    expect(redis.image).toMatch(/redis:7$/);
    const client = new Redis({
      host: '127.0.0.1',
      port: redis.hostPort,
      username: 'default',
      password: redis.env.REDIS_PASSWORD,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    await client.connect();
    expect(await client.get('token')).toBe(TOKEN);
    client.disconnect();
  });

  it('keeps the servers, their data and their passwords across a redeploy', async () => {
    const before = await serverContainer('postgres', 5432);
    await ok('deploy', APP, 'dev', join(app, 'score.yaml'), '--wait');
    const after = await serverContainer('postgres', 5432);
    expect(after.name).toBe(before.name);
    expect(after.env.POSTGRES_PASSWORD).toBe(before.env.POSTGRES_PASSWORD);
  });

  it('refuses postgres on a process environment at plan time, naming the type and what to apply', async () => {
    await ok('envs', 'create', APP, 'local', '--type', 'development', '--target', 'process');
    const run = await paved('deploy', APP, 'local', join(app, 'score.yaml'), '--plan');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /type postgres.*only for environments on docker targets; it runs on a process target.*apply a ResourceDefinition for type postgres/s,
    );
    await ok('envs', 'delete', APP, 'local');
  });

  it("removes one resource's server and its data with resources delete, and the rest with envs delete --delete-data", async () => {
    const before = await ownedByApp();
    expect(before.containers).toBeGreaterThanOrEqual(3);
    expect(before.volumes).toBe(2);
    const redis = await serverContainer('redis', 6379);
    const deleted = await ok('resources', 'delete', APP, 'dev', 'redis.default#writer.cache', '--force');
    // Its data went into a snapshot in the server's dump directory first, which the command names.
    const dumps = join(root, 'data', 'dumps', APP, 'dev');
    const snapshot = new RegExp(
      `wrote a snapshot of Redis data volume "${redis.name}-data" \\(/data, \\d+ bytes, tar\\) to (${dumps}/\\S+\\.tar)`,
    );
    expect(deleted.stdout).toMatch(snapshot);
    expect(existsSync(snapshot.exec(deleted.stdout)?.[1] ?? '')).toBe(true);
    const filters = labelled([`dev.paved.app=${APP}`, 'dev.paved.resource=redis.default#writer.cache']);
    expect(await engine(`/containers/json?all=true&filters=${filters}`)).toEqual([]);
    // Podman 4 matches volume lists on one label only: look the volume up by name.
    await expect(engine(`/volumes/${redis.name}-data`)).rejects.toThrow(/no such volume/i);
    expect((await ownedByApp()).volumes).toBe(1);
    expect(redis.name).toMatch(/^paved-dedicated-[0-9a-f]{6}-dev-writer-cache-[0-9a-f]{10}$/);
    const envDeleted = await ok('envs', 'delete', APP, 'dev', '--delete-data');
    // The PostgreSQL server's volume too, though envs delete removed its container first.
    expect(envDeleted.stdout).toMatch(
      /wrote a snapshot of PostgreSQL data volume "[^"]+" \(\/var\/lib\/postgresql\/data, \d+ bytes, tar\)/,
    );
    expect(readdirSync(dumps).filter((file) => file.endsWith('.tar'))).toHaveLength(2);
    expect(await ownedByApp()).toEqual({ containers: 0, volumes: 0 });
  });
});
