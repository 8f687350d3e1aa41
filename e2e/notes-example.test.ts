// examples/notes as a user runs it, through the built `paved` CLI against a real `paved server`,
// twice: on the process target with examples/platform/ applied (the machine's PostgreSQL and
// Redis as the shared servers), and on the docker target with no definition at all (a PostgreSQL
// and a Redis container of the environment's own). Each time notes are posted and read through
// the gateway, then the test reads them straight from the server the resource was given — the
// database named in the resource's outputs, the counter under its Redis prefix — and after
// `envs delete --delete-data` counts what is left there: nothing.
//
// The example's folders hold no node_modules in the repository: the test copies the example to a
// temporary folder and copies pg and ioredis (with what they depend on) from the repository's
// node_modules into it, as `npm install` in each folder would for a user.
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, isolatedEnv, ROOT, runPaved, startPavedServer } from './helpers/paved-cli.js';
import type { PavedRun, PavedServerProcess } from './helpers/paved-cli.js';

/** Podman's Docker API, started by the test setup. */
const SOCKET = (process.env.PAVED_TEST_DOCKER_HOST ?? 'unix:///run/paved-test/podman.sock').replace(
  /^unix:\/\//,
  '',
);
/** The secret references of examples/platform/. The machine's servers trust 127.0.0.1 and its
 * Redis `default` user has no password, so any admin password is accepted: these only have to be set. */
const PLATFORM_SECRETS: Record<string, string> = Object.fromEntries(
  ['DEV', 'STAGING', 'PRODUCTION'].flatMap((stage) => [
    [`PG_${stage}_PASSWORD`, `pw-notes-pg-${stage.toLowerCase()}`],
    [`REDIS_${stage}_PASSWORD`, `pw-notes-redis-${stage.toLowerCase()}`],
  ]),
);

let root: string;
let example: string;

interface PavedSession {
  server: PavedServerProcess;
  gatewayUrl: string;
  env: NodeJS.ProcessEnv;
}

interface ResourceItem {
  uid: string;
  type: string;
  definition: string;
  driver: string;
  outputs: Record<string, unknown>;
}

interface Note {
  id: string;
  text: string;
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

async function startSession(name: string, extra: Record<string, string>): Promise<PavedSession> {
  const dir = join(root, name);
  await mkdir(join(dir, 'home'), { recursive: true });
  const base = isolatedEnv(join(dir, 'home'), extra);
  const server = await startPavedServer(
    ['--port', '0', '--gateway-port', '0', '--data-dir', join(dir, 'data')],
    { env: base },
  );
  // `paved server` prints its address and the gateway's in one write.
  const gatewayUrl = /^Gateway on (\S+)$/m.exec(server.output())?.[1];
  if (gatewayUrl === undefined) {
    await server.stop();
    throw new Error(`paved server did not print "Gateway on <url>":\n${server.output()}`);
  }
  return { server, gatewayUrl, env: { ...base, PAVED_URL: server.url, PAVED_DATA_DIR: join(dir, 'data') } };
}

function paved(session: PavedSession, ...args: string[]): Promise<PavedRun> {
  return runPaved(args, { env: session.env, cwd: root });
}

async function ok(session: PavedSession, ...args: string[]): Promise<PavedRun> {
  const run = await paved(session, ...args);
  expect(run.code, `paved ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

/** A request through the gateway, the route's host in the Host header (`*.localhost` does not resolve in Node). */
function callRoute(
  gatewayUrl: string,
  endpoint: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  const target = new URL(endpoint);
  const gateway = new URL(gatewayUrl);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((done, fail) => {
    const request = httpRequest(
      {
        host: gateway.hostname,
        port: gateway.port,
        method,
        path,
        headers: {
          host: target.host,
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        timeout: 15_000,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => done({ status: response.statusCode ?? 0, body: text }));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${method} ${path} via ${gatewayUrl} timed out`)));
    request.on('error', fail);
    request.end(payload);
  });
}

async function deployNotes(session: PavedSession, app: string): Promise<string> {
  const run = await ok(
    session,
    'deploy',
    app,
    'dev',
    join(example, 'notes', 'score.yaml'),
    join(example, 'visits', 'score.yaml'),
    '--wait',
  );
  expect(run.stderr).toContain(`Deployment 1 of ${app}/dev succeeded`);
  const status = JSON.parse((await ok(session, 'status', app, 'dev', '-o', 'json')).stdout) as {
    workloads: { name: string; ready: boolean; endpoints: string[] }[];
  };
  expect(status.workloads.map((workload) => [workload.name, workload.ready]).sort()).toEqual([
    ['notes', true],
    ['visits', true],
  ]);
  const endpoint = status.workloads.find((workload) => workload.name === 'notes')?.endpoints[0];
  expect(endpoint, JSON.stringify(status)).toMatch(new RegExp(`^http://notes-dev-${app}\\.localhost`));
  return endpoint!;
}

/** Posts two notes of this run's own and reads them back, all through the gateway: three hits. */
async function useNotes(session: PavedSession, endpoint: string, texts: string[]): Promise<void> {
  for (const text of texts) {
    const posted = await callRoute(session.gatewayUrl, endpoint, 'POST', '/notes', { text });
    expect(posted.status, posted.body).toBe(201);
    expect(JSON.parse(posted.body)).toMatchObject({ text });
  }
  const listed = await callRoute(session.gatewayUrl, endpoint, 'GET', '/notes');
  expect(listed.status, listed.body).toBe(200);
  expect((JSON.parse(listed.body) as { notes: Note[] }).notes.map((note) => note.text)).toEqual(texts);
  const stats = await callRoute(session.gatewayUrl, endpoint, 'GET', '/stats');
  expect(JSON.parse(stats.body)).toEqual({ hits: texts.length + 1 });
}

async function resourcesOf(session: PavedSession, app: string): Promise<ResourceItem[]> {
  return JSON.parse(
    (await ok(session, 'resources', 'list', app, 'dev', '-o', 'json')).stdout,
  ) as ResourceItem[];
}

async function readNotes(config: pg.ClientConfig): Promise<string[]> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    const result = await client.query<{ text: string }>('select text from notes order by id');
    return result.rows.map((row) => row.text);
  } finally {
    await client.end();
  }
}

function redisClient(port: number, username?: string, password?: string): Redis {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  return client;
}

beforeAll(async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), 'paved-e2e-notes-'));
  example = join(root, 'notes-example');
  // A user's own `npm install` may have left node_modules in the checkout: never copy those.
  await cp(join(ROOT, 'examples', 'notes'), example, {
    recursive: true,
    filter: (source) => basename(source) !== 'node_modules' && basename(source) !== 'package-lock.json',
  });
  await copyPackages(['pg'], join(example, 'notes'));
  await copyPackages(['ioredis'], join(example, 'visits'));
});

afterAll(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('examples/notes on the shared PostgreSQL and Redis of examples/platform (process target)', () => {
  const app = `notes-${randomBytes(3).toString('hex')}`;
  /** What Paved names on the shared servers for this app: `paved_<app>_…`. */
  const ownName = `paved_${app.replace(/-/g, '_')}_`;
  const texts = [
    `first note ${randomBytes(4).toString('hex')}`,
    `second note ${randomBytes(4).toString('hex')}`,
  ];
  let session: PavedSession;
  let database: string;
  let prefix: string;

  async function leftOnServers(): Promise<{
    databases: number;
    roles: number;
    redisUsers: number;
    keys: number;
  }> {
    const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
    await admin.connect();
    const redis = redisClient(6379);
    await redis.connect();
    try {
      const like = `${ownName.replace(/_/g, '\\_')}%`;
      const databases = await admin.query('select 1 from pg_database where datname like $1', [like]);
      const roles = await admin.query('select 1 from pg_roles where rolname like $1', [like]);
      const users = (await redis.call('ACL', 'USERS')) as string[];
      const keys = await redis.keys(`${ownName}*`);
      return {
        databases: databases.rowCount ?? 0,
        roles: roles.rowCount ?? 0,
        redisUsers: users.filter((user) => user.startsWith(ownName)).length,
        keys: keys.length,
      };
    } finally {
      await admin.end();
      redis.disconnect();
    }
  }

  beforeAll(async () => {
    session = await startSession('shared', PLATFORM_SECRETS);
  });

  afterAll(async () => {
    if (session === undefined) return;
    await paved(session, 'envs', 'delete', app, 'dev', '--delete-data').catch(() => undefined);
    await session.server.stop();
  });

  it('deploys on the shared servers the platform configuration names', async () => {
    await ok(session, 'apply', '-f', join(ROOT, 'examples', 'platform'));
    await ok(session, 'apps', 'create', app);
    await ok(session, 'envs', 'create', app, 'dev', '--type', 'development');
    expect(await leftOnServers()).toEqual({ databases: 0, roles: 0, redisUsers: 0, keys: 0 });
    const endpoint = await deployNotes(session, app);
    const resources = await resourcesOf(session, app);
    const db = resources.find((resource) => resource.type === 'postgres');
    const cache = resources.find((resource) => resource.type === 'redis');
    expect(db).toMatchObject({ definition: 'development-postgres', driver: 'postgres' });
    expect(cache).toMatchObject({ definition: 'development-redis', driver: 'redis' });
    database = String(db!.outputs.database);
    prefix = String(cache!.outputs.prefix);
    expect(database.startsWith(ownName)).toBe(true);
    expect(prefix.startsWith(ownName)).toBe(true);
    await useNotes(session, endpoint, texts);
  });

  it('stored the notes in the database named in the resource’s outputs', async () => {
    expect(await readNotes({ host: '127.0.0.1', port: 5432, user: 'postgres', database })).toEqual(texts);
  });

  it('counted the visits under the resource’s Redis prefix', async () => {
    const redis = redisClient(6379);
    await redis.connect();
    try {
      expect(await redis.get(`${prefix}hits`)).toBe(String(texts.length + 1));
      // Under the prefix only: the app wrote no key outside it.
      expect(await redis.keys(`${ownName}*`)).toEqual([`${prefix}hits`]);
    } finally {
      redis.disconnect();
    }
  });

  it('leaves nothing on the shared servers after envs delete --delete-data', async () => {
    const before = await leftOnServers();
    expect(before).toMatchObject({ databases: 1, keys: 1 });
    expect(before.redisUsers).toBeGreaterThan(0);
    await ok(session, 'envs', 'delete', app, 'dev', '--delete-data');
    expect(await leftOnServers()).toEqual({ databases: 0, roles: 0, redisUsers: 0, keys: 0 });
  });
});

describe('examples/notes on dedicated containers (docker target, no definitions)', () => {
  const app = `notes-${randomBytes(3).toString('hex')}`;
  const texts = [
    `first note ${randomBytes(4).toString('hex')}`,
    `second note ${randomBytes(4).toString('hex')}`,
  ];
  let session: PavedSession;

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

  function labelled(labels: string[]): string {
    return encodeURIComponent(JSON.stringify({ label: labels }));
  }

  /** The resource's server container as the engine reports it: its environment and published port. */
  async function serverContainer(
    uid: string,
    port: number,
  ): Promise<{ env: Record<string, string>; hostPort: number }> {
    const list = (await engine(
      `/containers/json?filters=${labelled([`dev.paved.app=${app}`, `dev.paved.resource=${uid}`])}`,
    )) as { Id: string }[];
    expect(list).toHaveLength(1);
    const info = (await engine(`/containers/${list[0]!.Id}/json`)) as {
      Config: { Env: string[] };
      NetworkSettings: { Ports: Record<string, { HostPort: string }[] | null> };
    };
    return {
      env: Object.fromEntries(
        info.Config.Env.map((entry) => [
          entry.slice(0, entry.indexOf('=')),
          entry.slice(entry.indexOf('=') + 1),
        ]),
      ),
      hostPort: Number(info.NetworkSettings.Ports[`${port}/tcp`]?.[0]?.HostPort),
    };
  }

  async function ownedByApp(): Promise<{ containers: number; networks: number; volumes: number }> {
    const filters = labelled([`dev.paved.app=${app}`]);
    const [containers, networks, volumes] = await Promise.all([
      engine(`/containers/json?all=true&filters=${filters}`) as Promise<unknown[]>,
      engine(`/networks?filters=${filters}`) as Promise<unknown[]>,
      engine(`/volumes?filters=${filters}`) as Promise<{ Volumes: unknown[] | null }>,
    ]);
    return {
      containers: containers.length,
      networks: networks.length,
      volumes: (volumes.Volumes ?? []).length,
    };
  }

  let dbUid: string;
  let cacheUid: string;

  beforeAll(async () => {
    session = await startSession('dedicated', { DOCKER_HOST: `unix://${SOCKET}` });
  });

  afterAll(async () => {
    if (session === undefined) return;
    await paved(session, 'envs', 'delete', app, 'dev', '--delete-data').catch(() => undefined);
    await session.server.stop();
  });

  it('deploys with servers of its own, no definition applied', async () => {
    expect(JSON.parse((await ok(session, 'resources', 'definitions', 'list', '-o', 'json')).stdout)).toEqual(
      [],
    );
    await ok(session, 'apps', 'create', app);
    await ok(session, 'envs', 'create', app, 'dev', '--type', 'development', '--target', 'docker');
    const endpoint = await deployNotes(session, app);
    const resources = await resourcesOf(session, app);
    const db = resources.find((resource) => resource.type === 'postgres');
    const cache = resources.find((resource) => resource.type === 'redis');
    expect(db).toMatchObject({ definition: 'default-postgres', driver: 'container' });
    expect(cache).toMatchObject({
      definition: 'default-redis',
      driver: 'container',
      outputs: { prefix: '' },
    });
    dbUid = db!.uid;
    cacheUid = cache!.uid;
    await useNotes(session, endpoint, texts);
  });

  it('stored the notes in the PostgreSQL container of the resource', async () => {
    const postgres = await serverContainer(dbUid, 5432);
    expect(
      await readNotes({
        host: '127.0.0.1',
        port: postgres.hostPort,
        user: postgres.env.POSTGRES_USER,
        password: postgres.env.POSTGRES_PASSWORD,
        database: postgres.env.POSTGRES_DB,
      }),
    ).toEqual(texts);
  });

  it('counted the visits in the Redis container of the resource', async () => {
    const redis = await serverContainer(cacheUid, 6379);
    const client = redisClient(redis.hostPort, 'default', redis.env.REDIS_PASSWORD);
    await client.connect();
    try {
      expect(await client.get('hits')).toBe(String(texts.length + 1));
    } finally {
      client.disconnect();
    }
  });

  it('leaves nothing on the engine after envs delete --delete-data', async () => {
    expect((await ownedByApp()).volumes).toBe(2);
    await ok(session, 'envs', 'delete', app, 'dev', '--delete-data');
    expect(await ownedByApp()).toEqual({ containers: 0, networks: 0, volumes: 0 });
  });
});
