// A rollback writes the values it restores and queues its deployment in one transaction (issue 7's
// crash safety, applied to releases): a real `paved server` is killed (SIGKILL, by the test-only
// fault injection hook) between the two, then started again on the same data directory. The
// environment's values are still the ones its current deployment runs with, no rollback deployment
// is there, and the same rollback then works.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertBuilt, isolatedEnv, runPaved, startPavedServer } from './helpers/paved-cli.js';
import type { PavedRun, PavedServerProcess } from './helpers/paved-cli.js';
import { viaGateway } from './helpers/paved-gateway.js';

const SERVER_JS = `
const { createServer } = require('node:http');
createServer((request, response) => response.end(process.env.GREETING))
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

const SCORE = `apiVersion: score.dev/v1b1
metadata:
  name: web
service:
  ports:
    http:
      port: 8080
containers:
  main:
    image: .
    command: ['node', 'server.js']
    variables:
      GREETING: \${resources.env.GREETING}
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
      port: http
`;

const app = `rb${randomBytes(3).toString('hex')}`;
let root = '';
let env: NodeJS.ProcessEnv = {};
let server: PavedServerProcess | undefined;

afterAll(async () => {
  if (server !== undefined) {
    await runPaved(['envs', 'delete', app, 'dev', '--delete-data'], { env }).catch(() => undefined);
    await server.stop();
  }
  if (root !== '') await rm(root, { recursive: true, force: true });
});

async function ok(...args: string[]): Promise<PavedRun> {
  const run = await runPaved(args, { env, cwd: root });
  expect(run.code, `paved ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

async function start(faults?: string): Promise<string> {
  const base = isolatedEnv(join(root, 'home'));
  const dataDir = join(root, 'data');
  server = await startPavedServer(['--port', '0', '--gateway-port', '0', '--data-dir', dataDir], {
    env:
      faults === undefined ? base : { ...base, PAVED_TEST_FAULT_INJECTION: '1', PAVED_TEST_FAULTS: faults },
  });
  env = { ...base, PAVED_URL: server.url, PAVED_DATA_DIR: dataDir };
  const gateway = /^Gateway on (\S+)$/m.exec(server.output())?.[1];
  if (gateway === undefined) throw new Error(`no "Gateway on <url>" line:\n${server.output()}`);
  return gateway;
}

async function greeting(): Promise<string | undefined> {
  const items = JSON.parse((await ok('values', 'list', app, 'dev', '-o', 'json')).stdout) as {
    key: string;
    value?: string;
  }[];
  return items.find((item) => item.key === 'GREETING')?.value;
}

async function deploymentCount(): Promise<number> {
  return (JSON.parse((await ok('deployments', 'list', app, 'dev', '-o', 'json')).stdout) as unknown[]).length;
}

describe('a server killed inside a rollback', () => {
  it('leaves neither the restored values nor the rollback deployment, and the rollback works after', async () => {
    assertBuilt();
    root = await mkdtemp(join(tmpdir(), 'paved-e2e-rollback-crash-'));
    await mkdir(join(root, 'home'));
    await mkdir(join(root, 'web'));
    await writeFile(join(root, 'web', 'server.js'), SERVER_JS);
    await writeFile(join(root, 'web', 'score.yaml'), SCORE);
    const host = `web-dev-${app}.localhost`;

    let gateway = await start();
    await ok('apps', 'create', app);
    await ok('envs', 'create', app, 'dev', '--type', 'development', '--target', 'process');
    await ok('values', 'set', app, 'dev', 'GREETING=hello');
    await ok('deploy', app, 'dev', 'web/score.yaml', '--wait');
    await ok('values', 'set', app, 'dev', 'GREETING=bonjour');
    await ok('deploy', app, 'dev', 'web/score.yaml', '--wait');
    expect(await viaGateway(gateway, host)).toBe('200 bonjour');
    expect(await deploymentCount()).toBe(2);

    await server!.stop();
    await start('mid-rollback');
    const killed = new Promise<NodeJS.Signals | null>((resolve) =>
      server!.child.once('exit', (_code, signal) => resolve(signal)),
    );
    const interrupted = await runPaved(['rollback', app, 'dev', '1'], { env, cwd: root });
    expect(await killed).toBe('SIGKILL');
    expect(server!.output()).toContain('fault injection: killing the server at stage "mid-rollback"');
    expect(interrupted.code).not.toBe(0);

    gateway = await start();
    // The values deployment 2 runs with, and no third deployment: the transaction left nothing.
    expect(await greeting()).toBe('bonjour');
    expect(await deploymentCount()).toBe(2);
    expect((await ok('values', 'history', app, 'dev')).stdout).not.toContain('rollback');
    await expect
      .poll(() => viaGateway(gateway, host), { timeout: 30_000, interval: 250 })
      .toBe('200 bonjour');

    await ok('rollback', app, 'dev', '1', '--wait');
    expect(await greeting()).toBe('hello');
    expect((await ok('values', 'history', app, 'dev')).stdout).toContain('rollback of');
    expect(await viaGateway(gateway, host)).toBe('200 hello');
  }, 120_000);
});
