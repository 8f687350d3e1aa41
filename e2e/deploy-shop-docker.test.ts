// examples/shop on the docker target, as a user runs it: the built `paved` CLI against a real
// server driving Podman through its Docker Engine API socket. The three services' `image: .` are
// built from their Containerfiles (FROM the local Node image the test setup makes), two
// environments of the same app run side by side without a host-port collision, both answer
// through the gateway, every image's digest is recorded, and deleting the environments leaves
// nothing of Paved's on the engine.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, isolatedEnv, runPaved, startPavedServer } from './helpers/paved-cli.js';
import type { PavedRun, PavedServerProcess } from './helpers/paved-cli.js';

/** Podman's Docker API, started by scripts/setup-test-env.sh. */
const SOCKET = (process.env.PAVED_TEST_DOCKER_HOST ?? 'unix:///run/paved-test/podman.sock').replace(
  /^unix:\/\//,
  '',
);
const SHOP_FILES = ['catalog', 'frontend', 'orders'].map((name) => `examples/shop/${name}/score.yaml`);
/** An app name of this run's own: the engine is shared with other test files and runs. */
const APP = `shop-${randomBytes(3).toString('hex')}`;
const ENVS = ['dev', 'qa'];

let root: string;
let server: PavedServerProcess;
let gatewayUrl: string;
let env: NodeJS.ProcessEnv;

function paved(...args: string[]): Promise<PavedRun> {
  return runPaved(args, { env });
}

async function ok(...args: string[]): Promise<PavedRun> {
  const run = await paved(...args);
  expect(run.code, `paved ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

/** GET on the engine's API over its unix socket. */
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

/** What the engine holds for this run's app: containers, networks and volumes by Paved's labels. */
async function ownedByApp(): Promise<{ containers: number; networks: number; volumes: number }> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`dev.paved.app=${APP}`] }));
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

/** GET through the gateway with the route's host in the Host header (`*.localhost` does not resolve in Node). */
function callRoute(endpoint: string): Promise<{ status: number; body: string }> {
  const target = new URL(endpoint);
  const gateway = new URL(gatewayUrl);
  return new Promise((done, fail) => {
    const request = httpRequest(
      {
        host: gateway.hostname,
        port: gateway.port,
        path: target.pathname,
        headers: { host: target.host, accept: 'application/json' },
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
}

async function frontendEndpoint(envName: string): Promise<string> {
  const run = await ok('status', APP, envName, '-o', 'json');
  const status = JSON.parse(run.stdout) as { workloads: { name: string; endpoints: string[] }[] };
  const endpoint = status.workloads.find((workload) => workload.name === 'frontend')?.endpoints[0];
  expect(endpoint, run.stdout).toBeDefined();
  return endpoint!;
}

beforeAll(async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), 'paved-e2e-docker-'));
  await mkdir(join(root, 'home'));
  const base = isolatedEnv(join(root, 'home'), { DOCKER_HOST: `unix://${SOCKET}` });
  server = await startPavedServer(['--port', '0', '--gateway-port', '0', '--data-dir', join(root, 'data')], {
    env: base,
  });
  const gateway = /^Gateway on (\S+)$/m.exec(server.output())?.[1];
  if (gateway === undefined)
    throw new Error(`paved server did not print "Gateway on <url>":\n${server.output()}`);
  gatewayUrl = gateway;
  env = { ...base, PAVED_URL: server.url, PAVED_DATA_DIR: join(root, 'data') };
});

afterAll(async () => {
  if (server !== undefined) {
    for (const name of ENVS) await paved('envs', 'delete', APP, name, '--delete-data').catch(() => undefined);
    await server.stop();
  }
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('examples/shop on the docker target (Podman through its Docker API)', () => {
  it('lists the built-in docker target, found through DOCKER_HOST', async () => {
    const run = await ok('targets', 'list', '-o', 'json');
    const targets = JSON.parse(run.stdout) as { name: string; type: string; available?: boolean }[];
    expect(targets.find((target) => target.name === 'docker')).toMatchObject({
      type: 'docker',
      available: true,
    });
  });

  it('deploys the shop to two environments of one app, images built from the Containerfiles', async () => {
    await ok('apps', 'create', APP);
    for (const name of ENVS) {
      await ok('envs', 'create', APP, name, '--type', 'development', '--target', 'docker');
      await ok('values', 'set', APP, name, `CURRENCY=${name === 'dev' ? 'EUR' : 'CHF'}`);
    }
    for (const name of ENVS) {
      const run = await ok('deploy', APP, name, ...SHOP_FILES, '--wait');
      expect(run.stderr).toMatch(new RegExp(`Deployment 1 of ${APP}/${name} succeeded`));
    }
  });

  it('answers through the gateway in both environments, each with its own values', async () => {
    for (const [name, currency] of [
      ['dev', 'EUR'],
      ['qa', 'CHF'],
    ] as const) {
      const endpoint = await frontendEndpoint(name);
      expect(endpoint).toContain(`frontend-${name}-${APP}.localhost`);
      const answer = await callRoute(endpoint);
      expect(answer.status, answer.body).toBe(200);
      const shop = JSON.parse(answer.body) as {
        catalog: { products: unknown[] };
        orders: { currency: string };
      };
      expect(shop.orders.currency).toBe(currency);
      expect(shop.catalog.products.length).toBeGreaterThan(0);
    }
  });

  it('records the digest of every image in the deployment', async () => {
    const run = await ok('deployments', 'get', APP, 'dev', '1', '-o', 'json');
    const deployment = JSON.parse(run.stdout) as {
      images?: { workload: string; container: string; reference: string; digest: string }[];
    };
    expect(deployment.images?.map((image) => image.workload).sort()).toEqual([
      'catalog',
      'frontend',
      'orders',
    ]);
    for (const image of deployment.images ?? []) expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('shows the containers’ logs', async () => {
    const run = await ok('logs', APP, 'dev', 'catalog');
    expect(run.stdout.length).toBeGreaterThan(0);
  });

  it('removes every container, network and volume of the app when its environments are deleted', async () => {
    const before = await ownedByApp();
    expect(before.containers).toBeGreaterThanOrEqual(6);
    expect(before.networks).toBe(2);
    for (const name of ENVS) await ok('envs', 'delete', APP, name, '--delete-data');
    expect(await ownedByApp()).toEqual({ containers: 0, networks: 0, volumes: 0 });
  });
});
