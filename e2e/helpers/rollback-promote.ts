// The rollback and promotion journey through the built CLI, run once per target by
// e2e/rollback-promote.test.ts (process) and e2e/rollback-promote-docker.test.ts (docker):
// deploy v1, change a value and the code, deploy v2, roll back to 1 and see v1 with its value
// served on the route again, then promote dev to staging and see it served there with staging's
// own value.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, isolatedEnv, runPaved, startPavedServer } from './paved-cli.js';
import type { PavedRun, PavedServerProcess } from './paved-cli.js';

const SCORE = `apiVersion: score.dev/v1b1
metadata:
  name: web
service:
  ports:
    web:
      port: 8080
containers:
  main:
    image: .
    command: ['node', 'server.js']
    variables:
      GREETING: \${resources.env.GREETING}
    readinessProbe:
      httpGet:
        path: /healthz
        port: 8080
resources:
  env:
    type: environment
  dns:
    type: dns
  route:
    type: route
    params:
      host: \${resources.dns.host}
      path: /
      port: 8080
`;

// The docker target builds the context from this; the process target runs the folder as it is.
const CONTAINERFILE = `ARG NODE_IMAGE=localhost/node-local:20
FROM \${NODE_IMAGE}
WORKDIR /app
COPY . /app
ENV PORT=8080
CMD ["node", "server.js"]
`;

/** The code of one release: the version is in the code, so each release is a new context. */
function serverCode(version: string): string {
  return `import { createServer } from 'node:http';
const VERSION = '${version}';
createServer((request, response) => {
  if (request.url === '/healthz') return void response.end('ok');
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify({ version: VERSION, greeting: process.env.GREETING }));
}).listen(Number(process.env.PORT ?? 8080));
`;
}

interface Deployment {
  number: number;
  status: string;
  setId: string;
  message?: string;
  valuesVersions?: { app: number; env: number };
}

/** Defines the journey's tests for one target (`process` or `docker`). */
export function describeRollbackAndPromotion(
  target: 'process' | 'docker',
  extraEnv: Record<string, string> = {},
): void {
  /** An app name of this run's own: servers and engines are shared with other test files. */
  const app = `rel-${randomBytes(3).toString('hex')}`;
  let root: string;
  let appDir: string;
  let server: PavedServerProcess;
  let gatewayUrl: string;
  let env: NodeJS.ProcessEnv;

  const paved = (...args: string[]): Promise<PavedRun> => runPaved(args, { env });

  async function ok(...args: string[]): Promise<PavedRun> {
    const run = await paved(...args);
    expect(run.code, `paved ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
    return run;
  }

  async function release(version: string): Promise<void> {
    await writeFile(join(appDir, 'server.js'), serverCode(version));
  }

  /** What the web workload answers on its route, through the gateway as a browser would ask. */
  async function served(envName: string): Promise<{ version: string; greeting: string }> {
    const status = JSON.parse((await ok('status', app, envName, '-o', 'json')).stdout) as {
      workloads: { name: string; endpoints: string[] }[];
    };
    const endpoint = status.workloads.find((workload) => workload.name === 'web')?.endpoints[0];
    expect(endpoint, JSON.stringify(status)).toBeDefined();
    const url = new URL(endpoint!);
    const gateway = new URL(gatewayUrl);
    const answer = await new Promise<{ status: number; body: string }>((done, fail) => {
      const request = httpRequest(
        {
          host: gateway.hostname,
          port: gateway.port,
          path: url.pathname,
          headers: { host: url.host },
          timeout: 10_000,
        },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => done({ status: response.statusCode ?? 0, body }));
        },
      );
      request.on('timeout', () => request.destroy(new Error(`GET ${endpoint} via ${gatewayUrl} timed out`)));
      request.on('error', fail);
      request.end();
    });
    expect(answer.status, answer.body).toBe(200);
    return JSON.parse(answer.body) as { version: string; greeting: string };
  }

  async function deployment(envName: string, number: number): Promise<Deployment> {
    return JSON.parse(
      (await ok('deployments', 'get', app, envName, String(number), '-o', 'json')).stdout,
    ) as Deployment;
  }

  beforeAll(async () => {
    assertBuilt();
    root = await mkdtemp(join(tmpdir(), `paved-e2e-release-${target}-`));
    appDir = join(root, 'web');
    await mkdir(appDir);
    await mkdir(join(root, 'home'));
    await writeFile(join(appDir, 'score.yaml'), SCORE);
    await writeFile(join(appDir, 'Containerfile'), CONTAINERFILE);
    const base = isolatedEnv(join(root, 'home'), extraEnv);
    server = await startPavedServer(
      ['--port', '0', '--gateway-port', '0', '--data-dir', join(root, 'data')],
      {
        env: base,
      },
    );
    const gateway = /^Gateway on (\S+)$/m.exec(server.output())?.[1];
    if (gateway === undefined)
      throw new Error(`paved server did not print "Gateway on <url>":\n${server.output()}`);
    gatewayUrl = gateway;
    env = { ...base, PAVED_URL: server.url, PAVED_DATA_DIR: join(root, 'data') };
  });

  afterAll(async () => {
    if (server !== undefined) {
      for (const name of ['dev', 'staging']) {
        await paved('envs', 'delete', app, name, '--delete-data').catch(() => undefined);
      }
      await server.stop();
    }
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  describe(`rollback and promotion on the ${target} target, through the CLI`, () => {
    it('deploys v1, then v2 with a changed value and changed code', async () => {
      await ok('apps', 'create', app);
      for (const name of ['dev', 'staging']) {
        await ok('envs', 'create', app, name, '--type', 'development', '--target', target);
      }
      await ok('values', 'set', app, 'dev', 'GREETING=hello-1');
      await ok('values', 'set', app, 'staging', 'GREETING=staging-hi');

      await release('v1');
      await ok('deploy', app, 'dev', join(appDir, 'score.yaml'), '--message', 'v1', '--wait');
      expect(await served('dev')).toEqual({ version: 'v1', greeting: 'hello-1' });

      await ok('values', 'set', app, 'dev', 'GREETING=hello-2');
      await release('v2');
      await ok('deploy', app, 'dev', join(appDir, 'score.yaml'), '--message', 'v2', '--wait');
      expect(await served('dev')).toEqual({ version: 'v2', greeting: 'hello-2' });
    });

    it('diffs deployments 1 and 2 on the terminal and as JSON: the code and the changed value', async () => {
      const run = await ok('deployments', 'diff', app, 'dev', '1', '2');
      expect(run.stdout).toMatch(/~ workload web: \S*GREETING hello-1 → hello-2/);
      // v2 is new code: the build context's hash (process) or the built image (docker) changed.
      expect(run.stdout).toMatch(/~ workload web: (code\.|images\.)\S* .+ → .+/);
      const json = JSON.parse(
        (await ok('deployments', 'diff', app, 'dev', '1', '2', '-o', 'json')).stdout,
      ) as {
        sameSet: boolean;
        identical: boolean;
        workloads: { name: string; change: string; changes: { field: string }[] }[];
      };
      expect(json).toMatchObject({ sameSet: false, identical: false });
      expect(json.workloads.map((workload) => [workload.name, workload.change])).toEqual([
        ['web', 'changed'],
      ]);
    });

    it('rolls back to deployment 1: v1 and its value are served again', async () => {
      const first = await deployment('dev', 1);
      const run = await ok('rollback', app, 'dev', '1', '--wait', '-o', 'json');
      const rolled = JSON.parse(run.stdout) as Deployment;
      expect(rolled).toMatchObject({
        number: 3,
        status: 'succeeded',
        setId: first.setId,
        message: 'rollback to deployment 1',
      });
      expect(await served('dev')).toEqual({ version: 'v1', greeting: 'hello-1' });

      const history = JSON.parse((await ok('values', 'history', app, 'dev', '-o', 'json')).stdout) as {
        version: number;
        key: string;
        value?: string;
        note?: string;
      }[];
      expect(history[0]).toMatchObject({
        key: 'GREETING',
        value: 'hello-1',
        note: expect.stringContaining('rollback') as unknown,
      });
      const shown = await ok('deployments', 'get', app, 'dev', '3');
      expect(shown.stdout).toMatch(/Values:\s+app version 0, environment version 3/);
    });

    it('refuses to roll back to a deployment that does not exist (exit 3)', async () => {
      const run = await paved('rollback', app, 'dev', '99');
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr).toMatch(/deployment 99 of .*\/dev does not exist/);
    });

    it('plans the promotion of dev to staging without creating anything, then promotes it', async () => {
      const plan = await ok('promote', app, '--from', 'dev', '--to', 'staging', '--plan');
      expect(plan.stdout).toContain(`Plan for ${app}/staging`);
      expect(plan.stdout).toMatch(/\+ web\s+create/);
      expect(JSON.parse((await ok('deployments', 'list', app, 'staging', '-o', 'json')).stdout)).toEqual([]);

      const run = await ok('promote', app, '--from', 'dev', '--to', 'staging', '--wait', '-o', 'json');
      const promoted = JSON.parse(run.stdout) as Deployment;
      expect(promoted).toMatchObject({
        number: 1,
        status: 'succeeded',
        message: 'promote deployment 3 of dev',
      });
      expect(await served('staging')).toEqual({ version: 'v1', greeting: 'staging-hi' });
    });

    it('diffs across environments: staging runs the same set as dev, with its own value', async () => {
      const run = await ok('deployments', 'diff', app, 'dev:3', 'staging:1');
      expect(run.stdout).toContain('the same deployment set');
      expect(run.stdout).toMatch(/~ workload web: \S*GREETING hello-1 → staging-hi/);
      const json = JSON.parse(
        (await ok('deployments', 'diff', app, 'dev:3', 'staging:1', '-o', 'json')).stdout,
      ) as { sameSet: boolean; from: { env: string }; to: { env: string } };
      expect(json).toMatchObject({ sameSet: true, from: { env: 'dev' }, to: { env: 'staging' } });
    });
  });
}
