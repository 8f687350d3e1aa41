/**
 * `GET /api/v1/apps/{app}/deployments/diff` through a real server on the process target: two
 * deployments of one environment with a change between them, and deployments of two environments.
 */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../start-server.js';
import { LogCapture } from '../testing/test-server.js';
import { contextOf, type ContextTarball } from '../testing/context-tarball.js';

const IDLE_JS = "console.log('up'); setInterval(() => {}, 60_000);\n";
const FIRST_SECRET = 'first-secret-value-0b1c';
const SECOND_SECRET = 'second-secret-value-9f2e';

function webScore(version: string, withDns: boolean): string {
  return `apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: .
    command: ["node", "idle.mjs"]
    variables:
      VERSION: "${version}"
      API_KEY: \${resources.env.API_KEY}
resources:
  env:
    type: environment
${withDns ? '  dns:\n    type: dns\n' : ''}`;
}

const WORKER_SCORE = `apiVersion: score.dev/v1b1
metadata:
  name: worker
containers:
  main:
    image: .
    command: ["node", "idle.mjs"]
`;

interface Changed {
  name?: string;
  uid?: string;
  change: string;
  changes: { field: string; before?: string; after?: string }[];
}

/** Each workload of a diff as `[name, change]`. */
const kinds = (workloads: Changed[]): [string | undefined, string][] =>
  workloads.map((workload) => [workload.name, workload.change]);

describe('deployments diff on the process target', () => {
  let root: string;
  let server: RunningServer;
  let token: string;
  let first: ContextTarball;
  let second: ContextTarball;
  const log = new LogCapture();

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined || body instanceof Uint8Array ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: body instanceof Uint8Array ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, text, body: text === '' ? undefined : JSON.parse(text) };
  }

  async function deployAndWait(
    env: string,
    workloads: { file: string; score: string; context: ContextTarball }[],
  ): Promise<number> {
    const submitted = await call('POST', `/api/v1/apps/shop/envs/${env}/deployments`, {
      workloads: workloads.map(({ file, score, context }) => ({
        file,
        score,
        contexts: { main: context.hash },
      })),
    });
    expect(submitted.status, submitted.text).toBe(201);
    const number = submitted.body.number as number;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { body } = await call('GET', `/api/v1/apps/shop/envs/${env}/deployments/${number}`);
      if (body.status === 'succeeded') return number;
      if (['failed', 'cancelled'].includes(body.status)) {
        throw new Error(`deployment ${number} of ${env} ${body.status}: ${body.error}`);
      }
      if (Date.now() > deadline) throw new Error(`deployment ${number} of ${env} still ${body.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const setSecret = async (env: string, value: string) => {
    const answer = await call('PATCH', `/api/v1/apps/shop/envs/${env}/values`, {
      set: [{ key: 'API_KEY', value, secret: true }],
    });
    expect(answer.status, answer.text).toBe(200);
  };

  const diff = (from: string, to: string) =>
    call('GET', `/api/v1/apps/shop/deployments/diff?from=${from}&to=${to}`);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'paved-diff-'));
    // Workloads run as nobody when the tests run as root: they must traverse to the workDir.
    await chmod(root, 0o711);
    const dataDir = join(root, '.paved');
    server = await startServer({
      dataDir,
      port: 0,
      gatewayPort: 0,
      logDestination: log,
      workDir: join(root, 'work'),
      processTarget: { readinessTimeoutMs: 5000, probeIntervalMs: 200, graceMs: 1000 },
    });
    ({ token } = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as { token: string });
    first = await contextOf({ 'idle.mjs': IDLE_JS });
    second = await contextOf({ 'idle.mjs': `// v2\n${IDLE_JS}` });
    expect((await call('POST', '/api/v1/apps', { name: 'shop' })).status).toBe(201);
    for (const context of [first, second]) {
      const put = await call('PUT', `/api/v1/apps/shop/contexts/${context.hash}`, context.gzip, {
        'content-type': 'application/gzip',
      });
      expect(put.status, put.text).toBe(201);
    }
    for (const env of ['dev', 'qa']) {
      expect((await call('POST', '/api/v1/apps/shop/envs', { name: env, type: 'development' })).status).toBe(
        201,
      );
    }
  });

  afterAll(async () => {
    if (server !== undefined) {
      for (const env of ['dev', 'qa']) await call('DELETE', `/api/v1/apps/shop/envs/${env}`);
      await server.close();
    }
    await rm(root, { recursive: true, force: true });
  });

  it('shows code, config, workload and resource changes between two deployments, never a secret', async () => {
    await setSecret('dev', FIRST_SECRET);
    const one = await deployAndWait('dev', [
      { file: 'web.yaml', score: webScore('1', false), context: first },
    ]);
    await setSecret('dev', SECOND_SECRET);
    const two = await deployAndWait('dev', [
      { file: 'web.yaml', score: webScore('2', true), context: second },
      { file: 'worker.yaml', score: WORKER_SCORE, context: second },
    ]);

    const answer = await diff(`dev:${one}`, `dev:${two}`);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.text).not.toContain(FIRST_SECRET);
    expect(answer.text).not.toContain(SECOND_SECRET);
    const body = answer.body;
    expect(body.from).toMatchObject({ app: 'shop', env: 'dev', number: one });
    expect(body.to).toMatchObject({ app: 'shop', env: 'dev', number: two });
    expect(body).toMatchObject({ sameSet: false, identical: false, notes: [] });
    expect(kinds(body.workloads)).toEqual([
      ['web', 'changed'],
      ['worker', 'added'],
    ]);
    const web = body.workloads[0];
    const fields = (web as Changed).changes.map((change) => change.field);
    expect(fields).toEqual(['code.main', 'score', 'containers.main.variables.VERSION']);
    expect(web.changes[0]).toEqual({ field: 'code.main', before: first.hash, after: second.hash });
    expect(web.changes[2]).toEqual({ field: 'containers.main.variables.VERSION', before: '1', after: '2' });
    expect(body.resources).toEqual([{ uid: 'dns.default#web.dns', change: 'added', changes: [] }]);

    // Reversed, the same changes the other way round.
    const back = (await diff(`dev:${two}`, `dev:${one}`)).body;
    expect(kinds(back.workloads)).toEqual([
      ['web', 'changed'],
      ['worker', 'removed'],
    ]);
    expect(back.resources).toEqual([{ uid: 'dns.default#web.dns', change: 'removed', changes: [] }]);

    // A deployment compared with itself.
    expect((await diff(`dev:${two}`, `dev:${two}`)).body).toMatchObject({
      sameSet: true,
      identical: true,
      workloads: [],
      resources: [],
    });
  });

  it('compares deployments of two environments', async () => {
    await setSecret('qa', 'qa-only-secret-value');
    const qa = await deployAndWait('qa', [{ file: 'web.yaml', score: webScore('1', false), context: first }]);
    const answer = await diff('dev:1', `qa:${qa}`);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.text).not.toContain('qa-only-secret-value');
    expect(answer.text).not.toContain(FIRST_SECRET);
    // The same workloads, code and Score: the same set; secret values differ but are not compared.
    expect(answer.body).toMatchObject({
      from: { env: 'dev', number: 1 },
      to: { env: 'qa', number: qa },
      sameSet: true,
      identical: true,
    });

    const other = (await diff('dev:2', `qa:${qa}`)).body;
    expect(other.sameSet).toBe(false);
    expect(kinds(other.workloads)).toEqual([
      ['web', 'changed'],
      ['worker', 'removed'],
    ]);
  });

  it('answers 404 naming a missing deployment or environment, and 400 for a malformed ENV:N', async () => {
    const missing = await diff('dev:1', 'dev:99');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
    expect(missing.body.error.message).toBe(
      'deployment 99 of shop/dev does not exist; paved deployments list shop dev shows them',
    );

    const noEnv = await diff('nope:1', 'dev:1');
    expect(noEnv.status).toBe(404);
    expect(noEnv.body.error.message).toMatch(/nope/);

    const malformed = await diff('dev-1', 'dev:1');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('INVALID_INPUT');
    expect(malformed.text).toContain('from must be ENV:N');

    const zero = await diff('dev:1', 'dev:0');
    expect(zero.status).toBe(400);
    expect(zero.text).toContain('to must be ENV:N');
  });
});
