/**
 * `paved resources rotate-credentials` when it cannot or does not go through, end to end: a real
 * server on the process target and the machine's PostgreSQL. Refused while a deployment of the
 * environment is queued or running and for a detached resource, changing nothing; a redeploy that
 * fails after the new login was made revokes nothing (the workloads keep the old login, the new
 * one is reported), and running the command again once the cause is fixed finishes that rotation.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../start-server.js';
import { contextOf, type ContextTarball } from '../testing/context-tarball.js';
import { TestApi } from '../testing/safe-apply-app.js';
import { LogCapture } from '../testing/test-server.js';

// Serves the credentials it was started with. It waits START_DELAY_MS before listening (a
// deployment that stays running a while), and exits at once when its user ends with
// REFUSE_USER_SUFFIX (a release that cannot start with the new login).
const SERVER_JS = `
import { createServer } from 'node:http';
const suffix = process.env.REFUSE_USER_SUFFIX ?? '';
if (suffix !== '' && process.env.DB_USER.endsWith(suffix)) {
  console.error('this release refuses the login ' + process.env.DB_USER);
  process.exit(1);
}
setTimeout(() => {
  createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ user: process.env.DB_USER, password: process.env.DB_PASSWORD, database: process.env.DB_NAME }));
  }).listen(Number(process.env.PORT), '127.0.0.1');
}, Number(process.env.START_DELAY_MS ?? 0));
`;

function score(options: { delayMs?: number; refuseSuffix?: string; withDatabase?: boolean }): string {
  const database = options.withDatabase ?? true;
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
    variables:
      START_DELAY_MS: "${options.delayMs ?? 0}"
      REFUSE_USER_SUFFIX: "${options.refuseSuffix ?? ''}"
${
  database
    ? `      DB_USER: \${resources.db.username}
      DB_PASSWORD: \${resources.db.password}
      DB_NAME: \${resources.db.name}
`
    : ''
}resources:
${
  database
    ? `  db:
    type: postgres
`
    : ''
}  dns:
    type: dns
  route:
    type: route
    params:
      host: \${resources.dns.host}
      path: /
      port: http
`;
}

async function onPostgres<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The login roles of the app's resources, and whether each may log in. */
async function logins(app: string): Promise<Record<string, boolean>> {
  const rows = await onPostgres((client) =>
    client.query<{ rolname: string; rolcanlogin: boolean }>(
      'SELECT rolname, rolcanlogin FROM pg_roles WHERE starts_with(rolname, $1) AND rolname ~ $2 ORDER BY 1',
      [`paved_${app.replace(/-/g, '_')}_`, '_[12]$'],
    ),
  );
  return Object.fromEntries(rows.rows.map((row) => [row.rolname, row.rolcanlogin]));
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

describe('resources rotate-credentials, when it cannot go through', () => {
  const app = `rotf-${randomBytes(4).toString('hex')}`;
  let root: string;
  let server: RunningServer;
  let api: TestApi;
  let context: ContextTarball;
  let host = '';

  const rotate = (uid: string) =>
    api.call('POST', `/api/v1/apps/${app}/envs/dev/resources/${encodeURIComponent(uid)}/rotate-credentials`);
  const database = async (): Promise<{ uid: string; status: string }> => {
    const items = (await api.call('GET', `/api/v1/apps/${app}/envs/dev/resources`)).body.items as {
      uid: string;
      type: string;
      status: string;
      outputs: Record<string, string>;
    }[];
    host = items.find((item) => item.type === 'dns')?.outputs.host ?? host;
    return items.find((item) => item.type === 'postgres')!;
  };
  /** Deploys and expects it to succeed, showing the deployment's error when it did not. */
  const deploy = async (options: Parameters<typeof score>[0]): Promise<void> => {
    const deployment = (await api.deploy(app, 'dev', score(options), { main: context.hash })) as {
      status: string;
      error?: string;
    };
    expect(deployment.status, deployment.error).toBe('succeeded');
  };

  /** What the workload serves through the gateway: the credentials it was started with. */
  async function served(): Promise<{ user: string; password: string; database: string }> {
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
    return JSON.parse(text) as { user: string; password: string; database: string };
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'paved-rotate-failures-'));
    // Workloads run as nobody when the tests run as root: they must traverse to the workDir.
    await chmod(root, 0o711);
    const dataDir = join(root, '.paved');
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
    expect(
      (await api.call('POST', `/api/v1/apps/${app}/envs`, { name: 'dev', type: 'development' })).status,
    ).toBe(201);
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
      const deleted = await api.call('DELETE', `/api/v1/apps/${app}/envs/dev?deleteData=true`);
      expect(deleted.status, JSON.stringify(deleted.body)).toBeLessThan(300);
      await api.call('DELETE', `/api/v1/resource-definitions/${app}-postgres?force=true`);
      await server.close();
    }
    await rm(root, { recursive: true, force: true });
  });

  it('is refused while a deployment of the environment is queued or running, and makes no login', async () => {
    // The first deployment: its workload takes a few seconds to listen, so it is still running.
    const submitted = await api.call('POST', `/api/v1/apps/${app}/envs/dev/deployments`, {
      workloads: [
        { file: 'api/score.yaml', score: score({ delayMs: 3000 }), contexts: { main: context.hash } },
      ],
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const number = submitted.body.number as number;
    // The resource exists once provisioning has recorded it.
    let uid = '';
    for (let i = 0; i < 100 && uid === ''; i += 1) {
      const items = (await api.call('GET', `/api/v1/apps/${app}/envs/dev/resources`)).body.items as {
        uid: string;
        type: string;
      }[];
      uid = items.find((item) => item.type === 'postgres')?.uid ?? '';
      if (uid === '') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(uid).not.toBe('');
    const refused = await rotate(uid);
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    expect(refused.body.error.message).toMatch(
      new RegExp(
        `a deployment of ${app}/dev is (queued|running) \\(number ${number}\\); rotate the credentials of "${uid.replace(/[.#]/g, '\\$&')}" once it has finished`,
      ),
    );

    for (;;) {
      const deployment = (await api.call('GET', `/api/v1/apps/${app}/envs/dev/deployments/${number}`)).body;
      if (['succeeded', 'failed', 'cancelled'].includes(deployment.status)) {
        expect(deployment.status, JSON.stringify(deployment.error)).toBe('succeeded');
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Nothing was rotated: one login, and the workload uses it.
    const before = await logins(app);
    expect(Object.values(before)).toEqual([true]);
    await database();
    expect(Object.keys(before)).toEqual([(await served()).user]);
  });

  it('a redeploy that fails after the new login was made revokes nothing; run again once fixed, it finishes', async () => {
    // A release that starts with login _1 but not with _2: the rotation's redeploy will fail.
    await deploy({ refuseSuffix: '_2' });
    const { uid } = await database();
    const before = await served();
    expect(before.user).toMatch(/_1$/);

    const failed = await rotate(uid);
    expect(failed.status, JSON.stringify(failed.body)).toBe(200);
    expect(failed.body).toMatchObject({ uid, revoked: false });
    const said = (failed.body.messages as string[]).join('\n');
    expect(said).toContain('NOT revoked: the workloads still run with them, and the new ones');
    expect(said).toContain(`paved deployments get ${app} dev ${failed.body.deployment}`);
    expect(said).toContain(`then run paved resources rotate-credentials ${app} dev '${uid}' again`);
    expect(said).not.toContain(before.password);
    const redeploy = (
      await api.call('GET', `/api/v1/apps/${app}/envs/dev/deployments/${failed.body.deployment}`)
    ).body;
    expect(redeploy).toMatchObject({ status: 'failed', message: `rotate credentials of ${uid}` });

    // The workloads still run with the old login, which still works; the new one exists beside it.
    expect(await served()).toEqual(before);
    expect(await connectAs(before.user, before.password, before.database)).toBe(1);
    const newUser = before.user.replace(/_1$/, '_2');
    expect(await logins(app)).toEqual({ [before.user]: true, [newUser]: true });

    // The cause fixed, a deploy moves the workloads to the new login; the old one still works.
    await deploy({});
    const moved = await served();
    expect(moved.user).toBe(newUser);
    expect(await connectAs(before.user, before.password, before.database)).toBe(1);

    // Running the command again finishes the pending rotation: no third login, the old one revoked.
    const finished = await rotate(uid);
    expect(finished.status, JSON.stringify(finished.body)).toBe(200);
    expect(finished.body).toMatchObject({ uid, revoked: true });
    expect((finished.body.messages as string[]).join('\n')).toContain('was not finished');
    expect(await served()).toEqual(moved);
    expect(await logins(app)).toEqual({ [before.user]: false, [newUser]: true });
    await expect(connectAs(before.user, before.password, before.database)).rejects.toThrow(
      /not permitted to log in/,
    );
    expect(await connectAs(moved.user, moved.password, moved.database)).toBe(1);
  });

  it('is refused for a detached resource, naming what to do, and changes nothing', async () => {
    // A deploy whose Score no longer asks for the database detaches it (kept, with its data).
    await deploy({ withDatabase: false });
    const { uid, status } = await database();
    expect(status).toBe('detached');
    const before = await logins(app);
    const deployments = (await api.call('GET', `/api/v1/apps/${app}/envs/dev/deployments`)).body.items.length;

    const refused = await rotate(uid);
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    expect(refused.body.error.message).toContain(
      `resource "${uid}" of ${app}/dev is detached: nothing uses it`,
    );
    expect(refused.body.error.message).toContain('deploy a workload that uses it first, or delete it');
    expect(await logins(app)).toEqual(before);
    expect((await api.call('GET', `/api/v1/apps/${app}/envs/dev/deployments`)).body.items.length).toBe(
      deployments,
    );
  });
});
