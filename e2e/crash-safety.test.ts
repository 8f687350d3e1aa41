// Crash safety (issue 7, point 4): a real `paved server` is killed (SIGKILL, by the test-only fault
// injection hook) at each named stage of a deployment, then started again on the same data
// directory. Each time the interrupted deployment must have failed cleanly: the environment still
// answers as its current deployment on its route, no process of the environment is left over
// (supervisors, forwarders, workload processes, counted in /proc; on the docker target, containers
// and networks counted on the engine by Paved's labels), and every database and role Paved made on
// the shared PostgreSQL server is one the store records.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { assertBuilt, isolatedEnv, runPaved, startPavedServer } from './helpers/paved-cli.js';
import type { PavedRun, PavedServerProcess } from './helpers/paved-cli.js';
import { viaGateway } from './helpers/paved-gateway.js';

const STAGES = [
  'after-provision-one',
  'during-render',
  'after-start-new-instance',
  'mid-switch',
  'before-record',
  'mid-record',
] as const;

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Podman's Docker API, started by scripts/setup-test-env.sh. */
const SOCKET = (process.env.PAVED_TEST_DOCKER_HOST ?? 'unix:///run/paved-test/podman.sock').replace(
  /^unix:\/\//,
  '',
);

type Target = 'process' | 'docker';

/** Every stage on the process target, and one on the docker target. */
const CASES: { stage: (typeof STAGES)[number]; target: Target }[] = [
  ...STAGES.map((stage) => ({ stage, target: 'process' as const })),
  { stage: 'mid-switch', target: 'docker' },
];

const SERVER_JS = `
const { createServer } = require('node:http');
createServer((request, response) => response.end(process.env.VERSION))
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

/**
 * v1 has one database; v2 a second one (a new resource to provision), a new spec and a second
 * route on a host of its own (a route the record step writes).
 */
function score(version: 'v1' | 'v2', target: Target, app: string): string {
  const second = version === 'v2';
  const container =
    target === 'process'
      ? `image: .
    command: ['node', 'server.js']`
      : `image: localhost/node-local:20
    command: ['node', '-e', "require('node:http').createServer((q, s) => s.end(process.env.VERSION)).listen(8080)"]`;
  return `apiVersion: score.dev/v1b1
metadata:
  name: web
service:
  ports:
    http:
      port: 8080
containers:
  main:
    ${container}
    variables:
      VERSION: ${version}
      DB_NAME: \${resources.db.database}${second ? '\n      SECOND_DB_NAME: ${resources.db2.database}' : ''}
resources:
  db:
    type: postgres${second ? '\n  db2:\n    type: postgres' : ''}
  dns:
    type: dns
  route:
    type: route
    params:
      host: \${resources.dns.host}
      path: /
      port: http
${
  second
    ? `  second-route:
    type: route
    params:
      host: ${secondHost(app)}
      path: /
      port: http
`
    : ''
}`;
}

/** The host only v2 routes. */
function secondHost(app: string): string {
  return `second-${app}.localhost`;
}

function platform(app: string): string {
  return `apiVersion: paved.dev/v1
kind: ResourceDefinition
metadata:
  name: ${app}-postgres
spec:
  type: postgres
  driver: postgres
  inputs:
    values:
      host: 127.0.0.1
      port: 5432
      adminUser: postgres
  criteria:
    - app: ${app}
`;
}

interface Setup {
  root: string;
  dataDir: string;
  app: string;
  env: NodeJS.ProcessEnv;
  server: PavedServerProcess | undefined;
}

const setups: Setup[] = [];

afterAll(async () => {
  for (const setup of setups) {
    if (setup.server !== undefined) {
      await runPaved(['envs', 'delete', setup.app, 'dev', '--delete-data'], { env: setup.env }).catch(
        () => undefined,
      );
      await setup.server.stop();
    }
    await dropLeftovers(setup.app);
    await rm(setup.root, { recursive: true, force: true });
  }
});

async function ok(setup: Setup, ...args: string[]): Promise<PavedRun> {
  const run = await runPaved(args, { env: setup.env, cwd: setup.root });
  expect(run.code, `paved ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

async function startServer(setup: Setup, faults?: string): Promise<string> {
  const base = isolatedEnv(join(setup.root, 'home'), { DOCKER_HOST: `unix://${SOCKET}` });
  setup.server = await startPavedServer(['--port', '0', '--gateway-port', '0', '--data-dir', setup.dataDir], {
    env:
      faults === undefined ? base : { ...base, PAVED_TEST_FAULT_INJECTION: '1', PAVED_TEST_FAULTS: faults },
  });
  setup.env = { ...base, PAVED_URL: setup.server.url, PAVED_DATA_DIR: setup.dataDir };
  const gateway = /^Gateway on (\S+)$/m.exec(setup.server.output())?.[1];
  if (gateway === undefined) throw new Error(`no "Gateway on <url>" line:\n${setup.server.output()}`);
  return gateway;
}

/** Live processes (not zombies) whose command line names `text`, or whose cwd starts with `cwd`. */
function processes(match: { cmdline?: string; cwd?: string }): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (/\) [ZX] /.test(readFileSync(`/proc/${entry}/stat`, 'utf8'))) continue;
      if (
        match.cmdline !== undefined &&
        readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(match.cmdline)
      )
        pids.push(Number(entry));
      else if (match.cwd !== undefined && readlinkSync(`/proc/${entry}/cwd`).startsWith(match.cwd))
        pids.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

/** GET on the engine's API over its unix socket. */
function engine(path: string): Promise<unknown[]> {
  return new Promise((done, fail) => {
    const request = httpRequest({ socketPath: SOCKET, path, headers: { host: 'engine' } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        if ((response.statusCode ?? 0) >= 300) fail(new Error(`engine GET ${path}: ${body}`));
        else done(JSON.parse(body) as unknown[]);
      });
    });
    request.on('error', fail);
    request.end();
  });
}

/** Containers (running or not) and networks of the app on the engine, by Paved's labels. */
async function onEngine(app: string): Promise<{ containers: number; networks: number }> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`dev.paved.app=${app}`] }));
  const [containers, networks] = await Promise.all([
    engine(`/containers/json?all=true&filters=${filters}`),
    engine(`/networks?filters=${filters}`),
  ]);
  return { containers: containers.length, networks: networks.length };
}

/** The process target's default work directory for a data directory (see start-server.ts). */
function workDirOf(dataDir: string): string {
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  return join(tmpdir(), `paved-${id}`, 'work');
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Databases and roles Paved made on the server for the app's environment `dev`. */
async function onServer(app: string): Promise<{ databases: string[]; roles: string[] }> {
  return withAdmin(async (client) => {
    const pattern = `paved\\_${app}\\_dev\\_%`;
    const databases = await client.query<{ name: string }>(
      'SELECT datname AS name FROM pg_database WHERE datname LIKE $1 ORDER BY 1',
      [pattern],
    );
    const roles = await client.query<{ name: string }>(
      'SELECT rolname AS name FROM pg_roles WHERE rolname LIKE $1 ORDER BY 1',
      [pattern],
    );
    return { databases: databases.rows.map((row) => row.name), roles: roles.rows.map((row) => row.name) };
  });
}

/** What a failed test may leave on the shared server. */
async function dropLeftovers(app: string): Promise<void> {
  const { databases, roles } = await onServer(app).catch(() => ({ databases: [], roles: [] }));
  await withAdmin(async (client) => {
    for (const name of databases) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    for (const name of roles.sort().reverse()) await client.query(`DROP ROLE IF EXISTS "${name}"`);
  }).catch(() => undefined);
}

for (const [index, { stage, target }] of CASES.entries()) {
  describe(`a server killed at "${stage}" (${target} target)`, () => {
    it('comes back with the deployment failed cleanly, nothing orphaned, and the environment answering', async () => {
      assertBuilt();
      const root = await mkdtemp(join(tmpdir(), `paved-e2e-crash-${index}-`));
      const app = `k${index}${randomBytes(3).toString('hex')}`;
      const setup: Setup = { root, dataDir: join(root, 'data'), app, env: {}, server: undefined };
      setups.push(setup);
      await mkdir(join(root, 'home'));
      await mkdir(join(root, 'web'));
      await writeFile(join(root, 'web', 'server.js'), SERVER_JS);
      await writeFile(join(root, 'web', 'score-v1.yaml'), score('v1', target, app));
      await writeFile(join(root, 'web', 'score-v2.yaml'), score('v2', target, app));
      await writeFile(join(root, 'platform.yaml'), platform(app));
      const host = `web-dev-${app}.localhost`;

      let gateway = await startServer(setup);
      await ok(setup, 'apps', 'create', app);
      await ok(setup, 'envs', 'create', app, 'dev', '--type', 'development', '--target', target);
      await ok(setup, 'apply', '-f', 'platform.yaml');
      await ok(setup, 'deploy', app, 'dev', 'web/score-v1.yaml', '--wait');
      expect(await viaGateway(gateway, host)).toBe('200 v1');
      // The faults apply to every deployment of a server: only v2 runs on one that has them.
      await setup.server!.stop();
      gateway = await startServer(setup, stage);

      // v2: the server kills itself at the stage; the deployment is left `running` in the store.
      const killed = new Promise<NodeJS.Signals | null>((resolve) =>
        setup.server!.child.once('exit', (_code, signal) => resolve(signal)),
      );
      await ok(setup, 'deploy', app, 'dev', 'web/score-v2.yaml');
      expect(await killed).toBe('SIGKILL');
      expect(setup.server!.output()).toContain(`fault injection: killing the server at stage "${stage}"`);

      // Started again on the same data directory, without faults.
      gateway = await startServer(setup);
      const v2 = JSON.parse(
        (await ok(setup, 'deployments', 'get', app, 'dev', '2', '-o', 'json')).stdout,
      ) as {
        status: string;
        error?: string;
      };
      expect(v2.status).toBe('failed');
      expect(v2.error).toMatch(/server stopped during this deployment/);

      // The environment answers as deployment 1 on its route.
      await expect.poll(() => viaGateway(gateway, host), { timeout: 30_000, interval: 250 }).toBe('200 v1');
      // Nothing of what v2's record step would have written is there: not its second route.
      expect(await viaGateway(gateway, secondHost(app))).toMatch(/^404 /);

      if (target === 'process') {
        // Exactly one supervisor, one forwarder and one workload process for the environment.
        const state = join(setup.dataDir, 'runtime', 'process', app, 'dev');
        await expect
          .poll(
            () => ({
              supervisors: processes({ cmdline: join(state, 'web', 'instances') }).length,
              forwarders: processes({ cmdline: join(state, 'web', 'forwarder') }).length,
              workloads: processes({ cwd: join(workDirOf(setup.dataDir), app, 'dev') }).length,
            }),
            { timeout: 20_000, interval: 250 },
          )
          .toEqual({ supervisors: 1, forwarders: 1, workloads: 1 });
      } else {
        // One workload container (a single-container workload needs no sandbox), the workload's
        // service address in the network, and the environment's network.
        await expect
          .poll(() => onEngine(app), { timeout: 20_000, interval: 250 })
          .toEqual({ containers: 2, networks: 1 });
      }

      // Every database and role on the server belongs to a resource the store records.
      const recorded = (
        JSON.parse((await ok(setup, 'resources', 'list', app, 'dev', '-o', 'json')).stdout) as {
          type: string;
          status: string;
          outputs: { database?: string };
        }[]
      ).filter((resource) => resource.type === 'postgres');
      expect(recorded.every((resource) => resource.status !== 'provisioning')).toBe(true);
      const recordedDatabases = recorded.map((resource) => resource.outputs.database ?? '').sort();
      const { databases, roles } = await onServer(app);
      expect(databases).toEqual(recordedDatabases);
      const ownRoles = recordedDatabases.flatMap((name) => [name, `${name}_1`, `${name}_2`]);
      expect(roles.filter((role) => !ownRoles.includes(role))).toEqual([]);
      expect(databases.length).toBeGreaterThanOrEqual(1);

      // And the environment deploys v2 normally afterwards.
      await ok(setup, 'deploy', app, 'dev', 'web/score-v2.yaml', '--wait');
      expect(await viaGateway(gateway, host)).toBe('200 v2');
      expect(await viaGateway(gateway, secondHost(app))).toBe('200 v2');
      expect((await onServer(app)).databases).toHaveLength(2);
    }, 180_000);
  });
}
