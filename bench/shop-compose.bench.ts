/**
 * examples/shop on a container engine: deployed through Paved (an in-process server, its built-in
 * `docker` target on the engine's Docker API) against `podman-compose up -d --build` of an
 * equivalent compose file (the tool a user would otherwise pick on one machine), in the same run.
 * Both build the three images from the same Containerfiles; the time is from the start until the
 * frontend answers with what both backends said.
 *
 * The engine is `PAVED_BENCH_DOCKER_HOST`, else the test engine of `scripts/setup-test-env.sh`
 * (`unix:///run/paved-test/podman.sock`), else whatever `findDockerHost()` finds. podman-compose
 * talks to Podman through its own command, on the same image store.
 *
 * The shop helpers are exported for `edit-to-serving-docker.bench.ts`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PavedClient, packContext } from '@paved/client';
import { findDockerHost } from '@paved/runtimes';
import { startServer, type RunningServer } from '@paved/server';
import type { Benchmark, BenchReport } from './report.js';
import { round } from './report.js';

export const SHOP_SERVICES = ['catalog', 'frontend', 'orders'] as const;
const SHOP_DIR = fileURLToPath(new URL('../examples/shop/', import.meta.url));
/** Longest wait for a deployment or a compose project to answer before the benchmark gives up. */
const ANSWER_TIMEOUT_MS = 5 * 60_000;
const ROUNDS = 2;

export function engineHost(): string {
  if (process.env.PAVED_BENCH_DOCKER_HOST !== undefined) return process.env.PAVED_BENCH_DOCKER_HOST;
  if (existsSync('/run/paved-test/podman.sock')) return 'unix:///run/paved-test/podman.sock';
  const found = findDockerHost();
  if (found === undefined)
    throw new Error(
      'no container engine found; run scripts/setup-test-env.sh or set PAVED_BENCH_DOCKER_HOST',
    );
  return found;
}

/**
 * A copy of examples/shop in a new temp dir. A random file in each service's folder makes its
 * build context unique to this copy, so no build is served from an earlier run's image or layer
 * cache: each side of a comparison builds its `COPY` layer itself.
 */
export function copyShop(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync(SHOP_DIR, dir, { recursive: true });
  for (const service of SHOP_SERVICES) {
    writeFileSync(join(dir, service, '.bench-nonce'), randomBytes(8).toString('hex'));
  }
  return dir;
}

export interface ShopServer {
  server: RunningServer;
  client: PavedClient;
  close(): Promise<void>;
}

/** A Paved server on a fresh SQLite data directory whose built-in docker target is `host`. */
export async function startShopServer(host: string): Promise<ShopServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'paved-bench-data-'));
  const server = await startServer({
    dataDir,
    port: 0,
    gatewayPort: 0,
    logLevel: 'warn',
    dockerHost: host,
  });
  const { token } = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { token: string };
  return {
    server,
    client: new PavedClient({ url: server.url, token }),
    close: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates an environment of `app` on the docker target, with the value the shop's orders read. */
export async function createShopEnv(client: PavedClient, app: string, env: string): Promise<void> {
  await client.createEnv(app, { name: env, type: 'development', target: 'docker' });
  await client.changeValues({ app, env }, { set: [{ key: 'CURRENCY', value: 'EUR' }] });
}

/**
 * What `paved deploy APP ENV shop/<services>/score.yaml` does: pack each named service's folder,
 * upload the contexts the server lacks, ask for a deployment. Returns its number.
 */
export async function deployShop(
  client: PavedClient,
  app: string,
  env: string,
  shopDir: string,
  services: readonly string[] = SHOP_SERVICES,
): Promise<number> {
  const workloads = await Promise.all(
    services.map(async (service) => {
      const context = await packContext(join(shopDir, service));
      if (!(await client.hasContext(app, context.hash)))
        await client.uploadContext(app, context.hash, context.gzip);
      return {
        file: `${service}/score.yaml`,
        score: readFileSync(join(shopDir, service, 'score.yaml'), 'utf8'),
        contexts: { main: context.hash },
      };
    }),
  );
  const deployment = await client.deploy(app, env, { workloads });
  return deployment.number;
}

export interface FrontendAnswer {
  greeting: string;
  catalog: { products?: unknown[]; error?: string };
  orders: { currency?: string; error?: string };
}

/** GET / on 127.0.0.1:port (with a Host header for the gateway); undefined unless a 200 with JSON. */
export function askFrontend(port: number, host?: string): Promise<FrontendAnswer | undefined> {
  return new Promise((resolve) => {
    const request = httpRequest(
      {
        hostname: '127.0.0.1',
        port,
        path: '/',
        headers: { accept: 'application/json', ...(host === undefined ? {} : { host }) },
        timeout: 5000,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          if (response.statusCode !== 200) return resolve(undefined);
          try {
            resolve(JSON.parse(body) as FrontendAnswer);
          } catch {
            resolve(undefined);
          }
        });
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
    request.end();
  });
}

/** The whole shop answers: the frontend's answer carries the catalog's products and the orders' currency. */
export function shopAnswered(answer: FrontendAnswer | undefined): boolean {
  return (
    answer !== undefined &&
    Array.isArray(answer.catalog.products) &&
    answer.catalog.products.length > 0 &&
    typeof answer.orders.currency === 'string'
  );
}

/**
 * Polls the frontend through the gateway until `done(answer)`; fails early when the deployment
 * failed, and after ANSWER_TIMEOUT_MS.
 */
export async function waitThroughGateway(
  shop: ShopServer,
  app: string,
  env: string,
  deployment: number,
  done: (answer: FrontendAnswer | undefined) => boolean,
): Promise<void> {
  const gatewayPort = Number(new URL(shop.server.gatewayUrl).port);
  const host = `frontend-${env}-${app}.localhost`;
  const deadline = performance.now() + ANSWER_TIMEOUT_MS;
  let lastCheck = 0;
  for (;;) {
    if (done(await askFrontend(gatewayPort, host))) return;
    if (performance.now() - lastCheck > 500) {
      lastCheck = performance.now();
      const state = await shop.client.getDeployment(app, env, deployment);
      if (state.status === 'failed' || state.status === 'cancelled')
        throw new Error(`deployment ${deployment} of ${app}/${env} ${state.status}: ${state.error ?? ''}`);
    }
    if (performance.now() > deadline)
      throw new Error(
        `${app}/${env}: ${host} did not answer through the gateway within ${ANSWER_TIMEOUT_MS / 1000} s`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Runs a command to its end; rejects with its last output lines when it exits non-zero. */
function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(output);
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} (in ${cwd}) exited with ${code}:\n${output.split('\n').slice(-20).join('\n')}`,
          ),
        );
    });
  });
}

/** The compose file a user would write for the shop: same Containerfiles, command, env and port. */
function composeFile(project: string, ports: Record<(typeof SHOP_SERVICES)[number], number>): string {
  const service = (name: string, environment: Record<string, string>) => ({
    build: { context: `./${name}`, dockerfile: 'Containerfile' },
    image: `localhost/${project}-${name}:latest`,
    command: ['node', 'server.js'],
    environment: { PORT: '8080', ...environment },
    ports: [`127.0.0.1:${ports[name as keyof typeof ports]}:8080`],
  });
  // JSON is YAML: podman-compose reads it as is.
  return JSON.stringify(
    {
      services: {
        catalog: service('catalog', {}),
        orders: service('orders', { CURRENCY: 'EUR' }),
        frontend: service('frontend', {
          CATALOG_URL: 'http://catalog:8080',
          ORDERS_URL: 'http://orders:8080',
        }),
      },
    },
    undefined,
    2,
  );
}

/** The baseline: `podman-compose up -d --build`, then poll the frontend's published port. */
async function composeUp(): Promise<number> {
  const dir = copyShop('paved-bench-compose-');
  const project = `bench-compose-${randomBytes(3).toString('hex')}`;
  const ports = { catalog: await freePort(), frontend: await freePort(), orders: await freePort() };
  const file = join(dir, 'compose.yaml');
  writeFileSync(file, composeFile(project, ports));
  const compose = ['-p', project, '-f', file];
  try {
    const start = performance.now();
    await run('podman-compose', [...compose, 'up', '-d', '--build'], dir);
    const deadline = start + ANSWER_TIMEOUT_MS;
    while (!shopAnswered(await askFrontend(ports.frontend))) {
      if (performance.now() > deadline)
        throw new Error(
          `compose project ${project}: the frontend did not answer on 127.0.0.1:${ports.frontend}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return performance.now() - start;
  } finally {
    await run('podman-compose', [...compose, 'down'], dir).catch((error: unknown) => console.error(error));
    // podman-compose 1.0 leaves its network and the images it built.
    await run('podman', ['network', 'rm', '-f', `${project}_default`], dir).catch(() => undefined);
    await run(
      'podman',
      ['rmi', '-f', ...SHOP_SERVICES.map((name) => `localhost/${project}-${name}:latest`)],
      dir,
    ).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Paved: pack + upload + deploy the three services to a new docker environment, until the frontend answers. */
async function pavedUp(shop: ShopServer, app: string, env: string): Promise<number> {
  const dir = copyShop('paved-bench-shop-');
  try {
    await createShopEnv(shop.client, app, env);
    const start = performance.now();
    const number = await deployShop(shop.client, app, env, dir);
    await waitThroughGateway(shop, app, env, number, shopAnswered);
    return performance.now() - start;
  } finally {
    // Removes the containers, the network and the images the target built for the environment.
    await shop.client
      .deleteEnv(app, env, { deleteData: true })
      .catch((error: unknown) => console.error(error));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runBenchmark(): Promise<BenchReport> {
  const host = engineHost();
  const shop = await startShopServer(host);
  const app = `shop-${randomBytes(3).toString('hex')}`;
  const rows: Record<string, string | number>[] = [];
  let pavedTotal = 0;
  let composeTotal = 0;
  try {
    await shop.client.createApp({ name: app });
    for (let pass = 1; pass <= ROUNDS; pass += 1) {
      // Alternate which goes first, so neither always meets a warmer engine.
      const pavedFirst = pass % 2 === 1;
      let pavedMs = 0;
      let composeMs = 0;
      if (pavedFirst) pavedMs = await pavedUp(shop, app, `r${pass}`);
      composeMs = await composeUp();
      if (!pavedFirst) pavedMs = await pavedUp(shop, app, `r${pass}`);
      pavedTotal += pavedMs;
      composeTotal += composeMs;
      rows.push({
        round: `${pass} (${pavedFirst ? 'Paved first' : 'compose first'})`,
        'Paved, ms': round(pavedMs, 0),
        'podman-compose, ms': round(composeMs, 0),
        ratio: `${round(pavedMs / composeMs, 2)}×`,
      });
    }
    rows.push({
      round: 'mean',
      'Paved, ms': round(pavedTotal / ROUNDS, 0),
      'podman-compose, ms': round(composeTotal / ROUNDS, 0),
      ratio: `${round(pavedTotal / composeTotal, 2)}×`,
    });
    await shop.client.deleteApp(app).catch((error: unknown) => console.error(error));
  } finally {
    await shop.close();
  }
  return {
    title: 'examples/shop: Paved on the docker target vs podman-compose (shop-compose)',
    method: `An in-process server (fresh SQLite data directory, built-in docker target on ${host}) deploys examples/shop to a new environment: pack and upload the three build contexts, deploy, and poll the gateway until the frontend's answer carries the catalog's products and the orders' currency. Baseline, in the same run: \`podman-compose up -d --build\` of an equivalent compose file (same three Containerfiles, command, variables; ports published on 127.0.0.1), then polling the frontend's published port for the same answer. Each side builds from its own copy of the shop with a random file in each folder, so neither reuses the other's images or COPY layers. ${ROUNDS} rounds, alternating which goes first.`,
    rows,
    notes: [
      "Paved waits for each service's readiness probe (GET /healthz) before switching its port to it; podman-compose starts the containers and returns, and the polling covers the rest.",
    ],
  };
}

export const benchmark: Benchmark = { name: 'shop-compose', run: runBenchmark };
