import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Deployment, DeploymentPlan } from '@paved/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseBuildFlags, parseImageFlags, parseSize } from '../deploy-input.js';
import { runCli } from '../testing/run-cli.js';
import type { FakeAnswer, FakeRequest } from '../testing/run-cli.js';
import { formatPlan } from './deploy.js';

const SERVER = ['--url', 'http://paved.test'];
const ENV = { PAVED_TOKEN: 't' };

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'paved-deploy-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function score(name: string, extra = ''): string {
  return `apiVersion: score.dev/v1b1
metadata:
  name: ${name}
containers:
  main:
    image: .
    command: ['node', 'server.js']
${extra}`;
}

const queued: Deployment = {
  app: 'shop',
  env: 'dev',
  number: 4,
  status: 'queued',
  setId: 's',
  actor: 'admin',
  createdAt: '2026-01-01T00:00:00Z',
  steps: [],
};

function sse(deployment: Deployment): string {
  const event = {
    seq: 1,
    time: '2026-01-01T00:00:01Z',
    level: 'info',
    type: 'step.started',
    step: 'apply',
    message: 'applying',
  };
  return `event: deployment-event\nid: 1\ndata: ${JSON.stringify(event)}\n\nevent: end\ndata: ${JSON.stringify(deployment)}\n\n`;
}

/** A fake server: contexts it has, and what the deployment ends as when followed. */
function server(options: { has?: boolean; ends?: Deployment } = {}) {
  return (request: FakeRequest): FakeAnswer => {
    if (request.method === 'HEAD') return { status: options.has === true ? 200 : 404 };
    if (request.method === 'PUT') return { status: 201, body: { hash: 'h', bytes: 1 } };
    if (request.path.endsWith('/events')) {
      return {
        text: sse(options.ends ?? { ...queued, status: 'succeeded' }),
        headers: { 'content-type': 'text/event-stream' },
      };
    }
    if (request.method === 'POST' && (request.body as { plan?: boolean }).plan === true) {
      const plan: DeploymentPlan = {
        app: 'shop',
        env: 'dev',
        workloads: [{ name: 'web', action: 'create', reason: 'not running', changes: [] }],
        resources: [{ uid: 'dns.default#web.dns', type: 'dns', action: 'create' }],
        summary: 'workloads: 1 to create; resources: 1 to create',
        noChanges: false,
      };
      return { body: plan };
    }
    return { status: 201, body: queued };
  };
}

describe('deploy flags', () => {
  it('parses --image for a workload or one container, keeping everything after the first =', () => {
    expect(parseImageFlags(['web=ghcr.io/acme/web@sha256:abc', 'web.side=envoy:1', 'a=b=c'])).toEqual({
      web: 'ghcr.io/acme/web@sha256:abc',
      'web.side': 'envoy:1',
      a: 'b=c',
    });
    for (const bad of ['web', 'web=', '=ref', 'a.b.c=ref', 'Web!=x']) {
      expect(() => parseImageFlags([bad]), bad).toThrow(/is not WORKLOAD=REF or WORKLOAD\.CONTAINER=REF/);
    }
    expect(() => parseImageFlags(['web=a', 'web=b'])).toThrow('--image web is given twice, as a and b');
  });

  it('parses --build WORKLOAD=DIR', () => {
    expect(parseBuildFlags(['api=./services/api', 'web=.'])).toEqual({ api: './services/api', web: '.' });
    expect(() => parseBuildFlags(['api'])).toThrow('--build "api" is not WORKLOAD=DIR');
    expect(() => parseBuildFlags(['api=a', 'api=b'])).toThrow('given twice');
  });

  it('parses sizes with binary units', () => {
    expect([parseSize('50MiB'), parseSize('1024'), parseSize('2k'), parseSize('1.5GiB')]).toEqual([
      50 * 1024 ** 2,
      1024,
      2048,
      1.5 * 1024 ** 3,
    ]);
    expect(() => parseSize('lots')).toThrow(/is not a size/);
  });
});

describe('paved deploy', () => {
  it('reports every problem of every file at once and sends nothing', async () => {
    await writeFile(
      join(root, 'a.yaml'),
      score('api', '    files:\n      /etc/x.conf:\n        source: missing.conf\n'),
    );
    await writeFile(join(root, 'b.yaml'), 'apiVersion: score.dev/v1b1\nmetadata: {}\ncontainers: {}\n');
    const requests: FakeRequest[] = [];
    const run = await runCli(['deploy', 'shop', 'dev', 'a.yaml', 'b.yaml', 'c.yaml', ...SERVER], {
      cwd: root,
      env: ENV,
      answer: server(),
      requests,
    });
    expect(run.code).toBe(2);
    expect(requests).toEqual([]);
    expect(run.stderr).toMatch(/^error: \d+ problems in 3 files; nothing was uploaded or deployed/);
    expect(run.stderr).toContain('a.yaml');
    expect(run.stderr).toContain('cannot read missing.conf (ENOENT)');
    expect(run.stderr).toContain('b.yaml');
    expect(run.stderr).toContain('c.yaml');
    expect(run.stderr).toContain('cannot read the file (ENOENT)');
  });

  it('uploads a missing context, inlines source files and prints how to follow', async () => {
    await mkdir(join(root, 'web'));
    await writeFile(
      join(root, 'web', 'score.yaml'),
      score('web', '    files:\n      conf/app.toml:\n        source: app.toml\n'),
    );
    await writeFile(join(root, 'web', 'app.toml'), 'x = 1\n');
    await writeFile(join(root, 'web', 'server.js'), 'console.log(1)\n');
    const requests: FakeRequest[] = [];
    const run = await runCli(['deploy', 'shop', 'dev', 'web/score.yaml', '-m', 'why', ...SERVER], {
      cwd: root,
      env: ENV,
      answer: server(),
      requests,
    });
    expect(run.stderr).toMatch(/^Uploaded the context of web \(web, \d+ B, sha256:[0-9a-f]{12}\)\n$/);
    expect(run.code).toBe(0);
    expect(requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      expect.stringMatching(/^HEAD \/api\/v1\/apps\/shop\/contexts\/sha256%3A[0-9a-f]{64}$/),
      expect.stringMatching(/^PUT \/api\/v1\/apps\/shop\/contexts\/sha256%3A[0-9a-f]{64}$/),
      'POST /api/v1/apps/shop/envs/dev/deployments',
    ]);
    expect(requests[1]!.headers.get('content-type')).toBe('application/gzip');
    const body = requests[2]!.body as { workloads: Array<Record<string, unknown>> };
    expect(body).toMatchObject({ message: 'why', plan: false });
    expect(body.workloads).toEqual([
      {
        file: 'web/score.yaml',
        score: expect.stringContaining('name: web'),
        contexts: { main: expect.stringMatching(/^sha256:/) },
        fileSources: { 'app.toml': 'x = 1\n' },
      },
    ]);
    expect(run.stdout).toBe(
      'Deployment 4 of shop/dev is queued.\nFollow it with: paved deployments get shop dev 4 --wait\nCancel it with: paved deployments cancel shop dev 4\n',
    );
  });

  it('uploads nothing the server has, and packs nothing for an overridden image', async () => {
    await writeFile(join(root, 'score.yaml'), score('web'));
    const requests: FakeRequest[] = [];
    const has = await runCli(['deploy', 'shop', 'dev', 'score.yaml', ...SERVER], {
      cwd: root,
      env: ENV,
      answer: server({ has: true }),
      requests,
    });
    expect(has.code).toBe(0);
    expect(has.stderr).toContain('The server already has the context of web (.,');
    expect(requests.map((request) => request.method)).toEqual(['HEAD', 'POST']);

    requests.length = 0;
    const overridden = await runCli(
      ['deploy', 'shop', 'dev', 'score.yaml', '--image', 'web.main=nginx:1', '-o', 'json', ...SERVER],
      { cwd: root, env: ENV, answer: server(), requests },
    );
    expect(overridden.code).toBe(0);
    expect(requests.map((request) => request.method)).toEqual(['POST']);
    expect(requests[0]!.body).toMatchObject({
      images: { 'web.main': 'nginx:1' },
      workloads: [{ file: 'score.yaml' }],
    });
    expect((requests[0]!.body as { workloads: object[] }).workloads[0]).not.toHaveProperty('contexts');
    expect(JSON.parse(overridden.stdout)).toEqual(queued);
  });

  it('packs the --build directory instead of the Score file folder', async () => {
    await writeFile(join(root, 'score.yaml'), score('web'));
    await mkdir(join(root, 'src'));
    await writeFile(join(root, 'src', 'server.js'), 'x');
    const run = await runCli(['deploy', 'shop', 'dev', 'score.yaml', '--build', 'web=src', ...SERVER], {
      cwd: root,
      env: ENV,
      answer: server(),
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('Uploaded the context of web (src,');

    const unknown = await runCli(['deploy', 'shop', 'dev', 'score.yaml', '--build', 'api=src', ...SERVER], {
      cwd: root,
      env: ENV,
      answer: server(),
    });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--build api=… names no workload of the given files (web)');
  });

  it('refuses a context over --max-context-size before uploading anything', async () => {
    const { randomBytes } = await import('node:crypto');
    await writeFile(join(root, 'score.yaml'), score('web'));
    await writeFile(join(root, 'blob'), randomBytes(8192));
    const requests: FakeRequest[] = [];
    const run = await runCli(
      ['deploy', 'shop', 'dev', 'score.yaml', '--max-context-size', '4KiB', ...SERVER],
      {
        cwd: root,
        env: ENV,
        answer: server(),
        requests,
      },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /error: build context of workload "web" \(\.\) is 8\.\d KiB compressed, over the limit of 4 KiB/,
    );
    expect(requests).toEqual([]);
  });

  it('with --wait follows the deployment and exits by how it ended', async () => {
    await writeFile(join(root, 'score.yaml'), score('web'));
    const succeeded = await runCli(['deploy', 'shop', 'dev', 'score.yaml', '--wait', ...SERVER], {
      cwd: root,
      env: ENV,
      answer: server({ ends: { ...queued, status: 'succeeded' } }),
    });
    expect(succeeded.code).toBe(0);
    expect(succeeded.stderr).toContain(
      'Following Deployment 4 of shop/dev…\n00:00:01 apply: applying\nDeployment 4 of shop/dev succeeded.\n',
    );
    expect(succeeded.stdout).toBe('See what runs with: paved status shop dev\n');

    const failed = await runCli(['deploy', 'shop', 'dev', 'score.yaml', '--wait', ...SERVER], {
      cwd: root,
      env: ENV,
      answer: server({
        ends: {
          ...queued,
          status: 'failed',
          steps: [{ name: 'apply', status: 'failed' }],
          error:
            'workload "web" never became ready: GET http://127.0.0.1:1/healthz: HTTP 503\nlast log lines:\n  boom',
        },
      }),
    });
    expect(failed.code).toBe(6);
    expect(failed.stderr).toContain('Deployment 4 of shop/dev failed in step apply.');
    expect(failed.stderr).toContain(
      'error: workload "web" never became ready: GET http://127.0.0.1:1/healthz: HTTP 503\nlast log lines:\n  boom',
    );

    const cancelled = await runCli(
      ['deploy', 'shop', 'dev', 'score.yaml', '--wait', '-o', 'json', ...SERVER],
      {
        cwd: root,
        env: ENV,
        answer: server({ ends: { ...queued, status: 'cancelled' } }),
      },
    );
    expect(cancelled.code).toBe(5);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ status: 'cancelled' });
  });

  it('with --plan prints the plan and asks the server for nothing else', async () => {
    await writeFile(join(root, 'score.yaml'), score('web'));
    const requests: FakeRequest[] = [];
    const run = await runCli(['deploy', 'shop', 'dev', 'score.yaml', '--plan', ...SERVER], {
      cwd: root,
      env: ENV,
      answer: server({ has: true }),
      requests,
    });
    expect(run.code).toBe(0);
    expect(requests.map((request) => request.method)).toEqual(['HEAD', 'POST']);
    expect(requests[1]!.body).toMatchObject({ plan: true });
    expect(run.stdout).toContain('+ web  create  (not running)');
    expect(run.stdout).toContain('  + provision  dns.default#web.dns  dns');
    expect(run.stdout).toContain('Summary: workloads: 1 to create; resources: 1 to create');
  });
});

describe('formatPlan', () => {
  it('shows every field of a new workload, the changed ones of an update, and resources by what happens to them', () => {
    const text = formatPlan({
      app: 'shop',
      env: 'dev',
      workloads: [
        {
          name: 'orders',
          action: 'update',
          reason: 'spec changed',
          changes: [
            { field: 'containers.main.variables.CURRENCY', before: 'USD', after: 'EUR' },
            { field: 'containers.main.variables.OLD', before: '1' },
          ],
        },
        {
          name: 'web',
          action: 'create',
          reason: 'not running',
          changes: [
            { field: 'containers.main.image', after: '.' },
            { field: 'containers.main.context', after: `sha256:${'ab'.repeat(32)}` },
            { field: 'containers.main.variables.DB_HOST', after: '(known after provisioning)' },
            { field: 'containers.main.variables.DB_PASSWORD', after: '(secret)' },
          ],
        },
        { name: 'catalog', action: 'unchanged', changes: [] },
        { name: 'legacy', action: 'delete', reason: 'not in the deployment', changes: [] },
      ],
      resources: [
        { uid: 'postgres.default#web.db', type: 'postgres', action: 'create', reason: 'new' },
        { uid: 'dns.default#orders.dns', type: 'dns', action: 'unchanged', reason: 'same' },
        { uid: 'volume.default#legacy.data', type: 'volume', action: 'detach', reason: 'kept' },
      ],
      summary: 'workloads: 1 to create, 1 to update, 1 to delete, 1 unchanged; resources: …',
      noChanges: false,
    });
    expect(text).toBe(
      [
        'Plan for shop/dev (nothing has been changed):',
        '',
        'Workloads:',
        '  ~ orders   update     (spec changed)',
        '      ~ containers.main.variables.CURRENCY: USD → EUR',
        '      - containers.main.variables.OLD (was 1)',
        '  + web      create     (not running)',
        '      + containers.main.image = .',
        '      + containers.main.context = sha256:abababababab…',
        '      + containers.main.variables.DB_HOST = (known after provisioning)',
        '      + containers.main.variables.DB_PASSWORD = (secret)',
        '  = catalog  unchanged',
        '  - legacy   delete     (not in the deployment)',
        '',
        'Resources:',
        '  ACTION       RESOURCE                    TYPE      WHY',
        '  + provision  postgres.default#web.db     postgres  new',
        '  = keep       dns.default#orders.dns      dns       same',
        '  > detach     volume.default#legacy.data  volume    kept',
        '',
        'Summary: workloads: 1 to create, 1 to update, 1 to delete, 1 unchanged; resources: …',
        '',
      ].join('\n'),
    );
  });

  it('says so when nothing would change', () => {
    const text = formatPlan({
      app: 'shop',
      env: 'dev',
      workloads: [{ name: 'web', action: 'unchanged', reason: 'spec unchanged', changes: [] }],
      resources: [],
      summary: 'no changes (workloads: 1 unchanged)',
      noChanges: true,
    });
    expect(text).toContain('  = web  unchanged  (spec unchanged)\n');
    expect(text).toMatch(
      /Summary: no changes \(workloads: 1 unchanged\)\nNo changes: deploying this provisions nothing and restarts nothing\.\n$/,
    );
  });
});
