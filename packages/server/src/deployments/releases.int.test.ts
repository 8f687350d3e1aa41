/**
 * Rollback, promotion, deployment sets and pinned values through a real server on the process
 * target: a rollback brings back the old set and values (restored as new values versions) while
 * leaving every volume's data alone and detaching, not deprovisioning, a volume made after the
 * deployment rolled back to; a queued deployment renders with the values of its submit time;
 * promotion deploys one environment's set to another with the target's own values, and its plan
 * creates nothing.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the assertions are the types of API answers */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../start-server.js';
import { contextOf, type ContextTarball } from '../testing/context-tarball.js';
import { LogCapture } from '../testing/test-server.js';

// Serves its version and greeting; writes a marker into its volume when it has one.
const SERVER_JS = `
import { createServer } from 'node:http';
import { existsSync, writeFileSync } from 'node:fs';
if (process.env.DATA_DIR && !existsSync(process.env.DATA_DIR + '/marker')) {
  writeFileSync(process.env.DATA_DIR + '/marker', 'written by ' + process.env.VERSION);
}
createServer((req, res) => res.end(JSON.stringify({ version: process.env.VERSION, greeting: process.env.GREETING })))
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

function webScore(version: string): string {
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
      GREETING: \${resources.env.GREETING}
      DATA_DIR: ../root/data
    volumes:
      /data:
        source: \${resources.data}
resources:
  env:
    type: environment
  data:
    type: volume
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

const WORKER_SCORE = `apiVersion: score.dev/v1b1
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
      VERSION: worker
      DATA_DIR: ../root/data
    volumes:
      /data:
        source: \${resources.extra}
resources:
  extra:
    type: volume
`;

describe('rollback, promotion and pinned values on the process target', () => {
  const app = `rel-${randomBytes(4).toString('hex')}`;
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

  const envPath = (env: string, suffix = '') => `/api/v1/apps/${app}/envs/${env}${suffix}`;

  function request(scores: Record<string, string>, extra: Record<string, unknown> = {}) {
    return {
      workloads: Object.entries(scores).map(([name, score]) => ({
        file: `${name}/score.yaml`,
        score,
        contexts: { main: context.hash },
      })),
      ...extra,
    };
  }

  async function submit(env: string, scores: Record<string, string>, extra: Record<string, unknown> = {}) {
    const created = await call('POST', envPath(env, '/deployments'), request(scores, extra));
    expect(created.status, created.text).toBe(201);
    return created.body as { number: number; valuesVersions?: unknown };
  }

  async function finished(env: string, number: number): Promise<any> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { body } = await call('GET', envPath(env, `/deployments/${number}`));
      if (['succeeded', 'failed', 'cancelled'].includes(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`deployment ${number} of ${env} still ${body.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function succeeded(env: string, number: number): Promise<any> {
    const body = await finished(env, number);
    expect(body.error).toBeUndefined();
    expect(body.status).toBe('succeeded');
    return body;
  }

  async function setValue(env: string | undefined, key: string, value: string): Promise<number> {
    const path = env === undefined ? `/api/v1/apps/${app}/values` : envPath(env, '/values');
    const answer = await call('PATCH', path, { set: [{ key, value }] });
    expect(answer.status, answer.text).toBe(200);
    return answer.body.version as number;
  }

  /** What the web workload of `env` answers through the gateway. */
  function served(env: string): Promise<{ version: string; greeting: string }> {
    const url = new URL(server.gatewayUrl);
    return new Promise((resolve, reject) => {
      const call = httpRequest(
        {
          host: url.hostname,
          port: Number(url.port),
          path: '/',
          headers: { host: `web-${env}-${app}.localhost:${url.port}` },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => {
            try {
              resolve(JSON.parse(text) as { version: string; greeting: string });
            } catch {
              reject(new Error(`the gateway answered ${response.statusCode}: ${text}`));
            }
          });
        },
      );
      call.on('error', reject);
      call.end();
    });
  }

  async function resources(env: string): Promise<Record<string, string>> {
    const { body } = await call('GET', envPath(env, '/resources'));
    return Object.fromEntries(
      (body.items as { uid: string; status: string }[]).map((resource) => [resource.uid, resource.status]),
    );
  }

  /** The marker each volume of the environment holds, by volume directory name. */
  function markers(env: string): Record<string, string> {
    const volumes = join(workDir, app, env, 'volumes');
    if (!existsSync(volumes)) return {};
    return Object.fromEntries(
      readdirSync(volumes).map((name) => [name, readFileSync(join(volumes, name, 'marker'), 'utf8')]),
    );
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'paved-releases-'));
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
    for (const env of ['dev', 'staging', 'qa']) {
      const created = await call('POST', `/api/v1/apps/${app}/envs`, { name: env, type: 'development' });
      expect(created.status, created.text).toBe(201);
    }
    expect((await call('PUT', `/api/v1/apps/${app}/contexts/${context.hash}`, context.gzip)).status).toBe(
      201,
    );
  });

  afterAll(async () => {
    if (server !== undefined) {
      for (const env of ['dev', 'staging', 'qa']) await call('DELETE', envPath(env, '?deleteData=true'));
      await call('DELETE', `/api/v1/apps/${app}`);
      await server.close();
    }
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('rolls back to an old set and its values, keeping every volume and detaching the newer one', async () => {
    await setValue(undefined, 'REGION', 'eu');
    await setValue('dev', 'GREETING', 'hello');
    const first = await succeeded('dev', (await submit('dev', { web: webScore('1') })).number);
    expect(first.valuesVersions).toEqual({ app: 1, env: 1 });
    expect(first.definitions).toEqual(
      expect.arrayContaining([
        { uid: 'volume.default#web.data', name: 'default-volume', version: expect.any(Number) },
      ]),
    );
    expect(await served('dev')).toEqual({ version: '1', greeting: 'hello' });

    await setValue(undefined, 'REGION', 'us');
    await setValue('dev', 'GREETING', 'bonjour');
    const second = await succeeded(
      'dev',
      (await submit('dev', { web: webScore('2'), worker: WORKER_SCORE })).number,
    );
    expect(second.setId).not.toBe(first.setId);
    expect(second.valuesVersions).toEqual({ app: 2, env: 2 });
    expect(await served('dev')).toEqual({ version: '2', greeting: 'bonjour' });
    const volumesBefore = markers('dev');
    expect(Object.values(volumesBefore).sort()).toEqual(['written by 1', 'written by worker']);

    const rolled = await call('POST', envPath('dev', '/rollback'), { deployment: first.number });
    expect(rolled.status, rolled.text).toBe(201);
    expect(rolled.body).toMatchObject({
      setId: first.setId,
      message: `rollback to deployment ${first.number}`,
    });
    // One new version per scope, equal to what deployment 1 used, pinned by the rollback.
    expect(rolled.body.valuesVersions).toEqual({ app: 3, env: 3 });
    const third = await succeeded('dev', rolled.body.number);
    expect(third.workloads).toEqual(['web']);
    expect(await served('dev')).toEqual({ version: '1', greeting: 'hello' });

    const values = async (path: string) =>
      Object.fromEntries(
        ((await call('GET', path)).body.items as { key: string; value?: string }[]).map((entry) => [
          entry.key,
          entry.value,
        ]),
      );
    expect(await values(`/api/v1/apps/${app}/values`)).toEqual({ REGION: 'eu' });
    expect(await values(envPath('dev', '/values'))).toEqual({ GREETING: 'hello' });
    const history = (await call('GET', envPath('dev', '/values/history'))).body.items as any[];
    expect(history[0]).toMatchObject({
      version: 3,
      key: 'GREETING',
      value: 'hello',
      actor: 'admin',
      note: `restored by admin's rollback of ${app}/dev to deployment ${first.number}`,
    });

    // The worker's volume came after deployment 1: detached with its data, never deprovisioned.
    expect(await resources('dev')).toMatchObject({
      'volume.default#web.data': 'ready',
      'volume.default#worker.extra': 'detached',
    });
    expect(markers('dev')).toEqual(volumesBefore);

    // The set is one record, shared by deployments 1 and 3.
    const set = await call('GET', `/api/v1/apps/${app}/sets/${first.setId}`);
    expect(set.status, set.text).toBe(200);
    expect(set.body).toMatchObject({ app, id: first.setId, createdBy: 'admin' });
    expect(
      (set.body.workloads as { name: string; contexts: unknown }[]).map((workload) => [
        workload.name,
        workload.contexts,
      ]),
    ).toEqual([['web', { main: context.hash }]]);
  });

  it('renders a queued deployment with the values of its submit time, not those of its run', async () => {
    await setValue('qa', 'GREETING', 'at-submit');
    // The first deployment keeps the environment busy, so the second waits in the queue.
    const busy = await submit('qa', { web: webScore('q1') });
    const queued = await submit('qa', { web: webScore('q2') });
    await setValue('qa', 'GREETING', 'after-submit');
    const ran = await succeeded('qa', queued.number);
    await succeeded('qa', busy.number);
    expect(ran.valuesVersions).toEqual(queued.valuesVersions);
    expect(await served('qa')).toEqual({ version: 'q2', greeting: 'at-submit' });
  });

  it("promotes dev's set to staging with staging's values; the plan creates nothing", async () => {
    await setValue('staging', 'GREETING', 'staging-hi');
    const plan = await call('POST', envPath('staging', '/promote'), { from: 'dev', plan: true });
    expect(plan.status, plan.text).toBe(200);
    expect(
      (plan.body.workloads as { name: string; action: string }[]).map((workload) => [
        workload.name,
        workload.action,
      ]),
    ).toEqual([['web', 'create']]);
    expect((await call('GET', envPath('staging', '/deployments'))).body.items).toEqual([]);
    expect(await resources('staging')).toEqual({});

    const dev = (await call('GET', envPath('dev', '/deployments'))).body.items[0];
    const promoted = await call('POST', envPath('staging', '/promote'), { from: 'dev' });
    expect(promoted.status, promoted.text).toBe(201);
    expect(promoted.body).toMatchObject({
      setId: dev.setId,
      message: `promote deployment ${dev.number} of dev`,
    });
    await succeeded('staging', promoted.body.number);
    expect(await served('staging')).toEqual({ version: '1', greeting: 'staging-hi' });
    // The source's values are its own.
    expect(await served('dev')).toEqual({ version: '1', greeting: 'hello' });
  });

  it('refuses what cannot be rolled back to or promoted, with what to do', async () => {
    const missing = await call('POST', envPath('dev', '/rollback'), { deployment: 99 });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(
      /deployment 99 of .*\/dev does not exist; paved deployments list/,
    );

    // A registry image cannot run on the process target: the deployment fails at its plan step.
    const failed = await finished(
      'dev',
      (await submit('dev', { web: webScore('bad') }, { images: { web: 'nginx:1.27' } })).number,
    );
    expect(failed.status).toBe('failed');
    const refused = await call('POST', envPath('dev', '/rollback'), { deployment: failed.number });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(
      new RegExp(
        `deployment ${failed.number} of .*/dev failed; only a deployment that succeeded can be rolled back to`,
      ),
    );

    const empty = await call('POST', `/api/v1/apps/${app}/envs/new-env/promote`, { from: 'dev' });
    expect(empty.status).toBe(404);
    const self = await call('POST', envPath('dev', '/promote'), { from: 'dev' });
    expect(self.status).toBe(400);
    expect(self.body.error.message).toMatch(/cannot promote .*\/dev to itself/);
    await call('POST', `/api/v1/apps/${app}/envs`, { name: 'fresh', type: 'development' });
    const nothing = await call('POST', envPath('dev', '/promote'), { from: 'fresh' });
    expect(nothing.status).toBe(409);
    expect(nothing.body.error.message).toMatch(
      /\/fresh has no succeeded deployment, so there is nothing to promote; deploy to fresh first/,
    );
    await call('DELETE', envPath('fresh'));
  });
});
