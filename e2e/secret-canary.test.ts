// The secret canary: unique random values planted everywhere a secret enters Paved — a
// definition's secret input (the admin password of a real PostgreSQL login role), an environment
// secret, a driver's secret outputs (the database password and URI it generated), and driver
// errors that echo their connection strings — then a full deploy through the built CLI and a
// search of everything Paved shows or keeps outside the encrypted columns: the server's log (the
// gateway's included), deployment events, every GET route of the API, every read command of the CLI
// at every -o, rendered specs, plans and exports, every database row, every file in the data
// directory but the database's own (the process target's supervisor specs, states and logs
// included), and the command lines of every process on the machine. Zero hits; yet the workload
// does get its secrets.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretBox } from '@paved/server';
import { openStore, SQLITE_FILE_NAME } from '@paved/store';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgram } from '../packages/cli/dist/main.js';
import { CliContext } from '../packages/cli/dist/cli-context.js';
import { dumpDatabase } from '../packages/server/src/testing/database-dump.js';
import { assertBuilt, isolatedEnv, runPaved, startPavedServer } from './helpers/paved-cli.js';
import type { PavedRun, PavedServerProcess } from './helpers/paved-cli.js';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const suffix = randomBytes(4).toString('hex');
const app = `canary-${suffix}`;
const brokenApp = `canary-broken-${suffix}`;
const adminRole = `paved_canary_admin_${suffix}`;

/** Unique, random, and long enough that a hit cannot be chance. */
const canary = (what: string) => `cnry${what}${randomBytes(12).toString('hex')}`;
const CANARIES: Record<string, string> = {
  'definition admin password': canary('defadmin'),
  'environment secret': canary('envsecret'),
  'unreachable server admin password': canary('deadadmin'),
  'connection string a command echoes': canary('cmdurl'),
};

const SERVER_JS = `
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
const digest = (text) => createHash('sha256').update(text ?? '').digest('hex');
createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({
    apiToken: digest(process.env.API_TOKEN),
    dbPassword: digest(process.env.DB_PASSWORD),
    dbUri: digest(process.env.DB_URI),
  }));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

const SCORE = `apiVersion: score.dev/v1b1
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
      API_TOKEN: \${resources.env.API_TOKEN}
      DB_PASSWORD: \${resources.db.password}
      DB_URI: \${resources.db.uri}
resources:
  env:
    type: environment
  db:
    type: postgres
  dns:
    type: dns
  route:
    type: route
    params:
      host: \${resources.dns.host}
      path: /
      port: http
`;

const BROKEN_DB_SCORE = `apiVersion: score.dev/v1b1
metadata:
  name: dead
containers:
  main:
    image: .
    command: ["node", "-e", "setInterval(() => {}, 1000)"]
    variables:
      DB_PASSWORD: \${resources.db.password}
resources:
  db:
    type: postgres
`;

const BROKEN_COMMAND_SCORE = `apiVersion: score.dev/v1b1
metadata:
  name: echoer
containers:
  main:
    image: .
    command: ["node", "-e", "setInterval(() => {}, 1000)"]
    variables:
      CACHE_URL: \${resources.cache.url}
resources:
  cache:
    type: redis
`;

/** Podman's Docker API, started by scripts/setup-test-env.sh. */
const SOCKET = (process.env.PAVED_TEST_DOCKER_HOST ?? 'unix:///run/paved-test/podman.sock').replace(
  /^unix:\/\//,
  '',
);

const DOCKER_SCORE = `apiVersion: score.dev/v1b1
metadata:
  name: boxed
containers:
  main:
    image: localhost/node-local:20
    command: ["node", "-e", "setInterval(() => {}, 1000)"]
    variables:
      API_TOKEN: \${resources.env.API_TOKEN}
      DB_PASSWORD: \${resources.db.password}
resources:
  env:
    type: environment
  db:
    type: postgres
`;

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

let root: string;
let dataDir: string;
let server: PavedServerProcess;
let gatewayUrl: string;
let env: NodeJS.ProcessEnv;
let adminToken: string;
/** Every text searched, with where it came from. */
const searched: { where: string; text: string }[] = [];

function paved(...args: string[]): Promise<PavedRun> {
  return runPaved(args, { env, cwd: root });
}

async function ok(...args: string[]): Promise<PavedRun> {
  const run = await paved(...args);
  expect(run.code, `paved ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

/** Runs a command and keeps its output for the search, whatever its exit code. */
async function collect(...args: string[]): Promise<PavedRun> {
  const run = await paved(...args);
  searched.push({ where: `paved ${args.join(' ')}`, text: `${run.stdout}\n${run.stderr}` });
  return run;
}

async function api(path: string, timeoutMs = 5_000): Promise<{ status: number; text: string }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let text = '';
  let status = 0;
  try {
    const response = await fetch(`${server.url}${path}`, {
      headers: { authorization: `Bearer ${adminToken}` },
      signal: controller.signal,
    });
    status = response.status;
    // Streams (events, logs) are read until they end or the time is up.
    const reader = response.body?.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const chunk = await reader?.read();
      if (chunk === undefined || chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
  }
  return { status, text };
}

function viaGateway(host: string): Promise<string> {
  const gateway = new URL(gatewayUrl);
  return new Promise((resolve, reject) => {
    httpRequest(
      { host: gateway.hostname, port: Number(gateway.port), path: '/', headers: { host } },
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
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A port nothing listens on: taken from the system, then let go. */
async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as { port: number };
  await new Promise((done) => probe.close(done));
  return port;
}

async function postgresAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), 'paved-e2e-canary-'));
  dataDir = join(root, 'data');
  await mkdir(join(root, 'home'));
  const base = isolatedEnv(join(root, 'home'), { DOCKER_HOST: `unix://${SOCKET}` });
  // A real login role with the canary as its password: what the definition's admin user is.
  await postgresAdmin(
    `CREATE ROLE ${adminRole} LOGIN SUPERUSER PASSWORD '${CANARIES['definition admin password']}'`,
  );
  server = await startPavedServer(['--port', '0', '--gateway-port', '0', '--data-dir', dataDir], {
    env: base,
  });
  const gateway = /^Gateway on (\S+)$/m.exec(server.output())?.[1];
  if (gateway === undefined)
    throw new Error(`paved server did not print "Gateway on <url>":\n${server.output()}`);
  gatewayUrl = gateway;
  adminToken = (JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as { token: string })
    .token;
  env = {
    ...base,
    PAVED_URL: server.url,
    PAVED_DATA_DIR: dataDir,
    // What the platform files reference; the CLI reads them on apply.
    CANARY_ADMIN_PASSWORD: CANARIES['definition admin password']!,
    CANARY_DEAD_PASSWORD: CANARIES['unreachable server admin password']!,
    CANARY_COMMAND_URL: `postgres://app:${CANARIES['connection string a command echoes']}@127.0.0.1:1/app`,
  };
}, 60_000);

afterAll(async () => {
  if (server !== undefined) {
    for (const name of ['dev', 'dock']) await paved('envs', 'delete', app, name, '--delete-data', '--wait');
    // Its resources never came to be: nothing to delete on any server.
    await paved('envs', 'delete', brokenApp, 'dev', '--wait');
    for (const name of [app, brokenApp]) await paved('apps', 'delete', name);
    for (const name of ['canary-postgres', 'canary-dead-postgres', 'canary-command'])
      await paved('resources', 'definitions', 'delete', `${name}-${suffix}`, '--force');
    await server.stop();
  }
  await postgresAdmin(`DROP ROLE IF EXISTS ${adminRole}`).catch(() => undefined);
  if (root !== undefined) await rm(root, { recursive: true, force: true });
}, 180_000);

describe('the secret canary', () => {
  it('refuses an admin password given as a plain value at apply, naming file, line and what to do', async () => {
    const file = join(root, 'plain-password.yaml');
    await writeFile(
      file,
      `# a password where it must not be
apiVersion: paved.dev/v1
kind: ResourceDefinition
metadata: { name: canary-plain-${suffix} }
spec:
  type: postgres
  driver: postgres
  inputs:
    values:
      host: 127.0.0.1
      adminUser: ${adminRole}
      adminPassword: ${CANARIES['definition admin password']}
  criteria: [ { app: ${app} } ]
`,
    );
    const run = await collect('apply', '-f', file);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('plain-password.yaml:2');
    expect(run.stderr).toContain('spec.inputs.values.adminPassword');
    expect(run.stderr).toMatch(/move it under spec\.inputs\.secrets as \{ env: NAME \} or \{ file: PATH \}/);
    expect((await paved('resources', 'definitions', 'get', `canary-plain-${suffix}`)).code).toBe(3);
  });

  it('deploys with every canary planted, and the workload gets its secrets', async () => {
    const deadPort = await closedPort();
    await writeFile(
      join(root, 'platform.yaml'),
      `apiVersion: paved.dev/v1
kind: ResourceDefinition
metadata: { name: canary-postgres-${suffix} }
spec:
  type: postgres
  driver: postgres
  inputs:
    values: { host: 127.0.0.1, port: 5432, adminUser: ${adminRole} }
    secrets: { adminPassword: { env: CANARY_ADMIN_PASSWORD } }
  criteria: [ { app: ${app} } ]
---
apiVersion: paved.dev/v1
kind: ResourceDefinition
metadata: { name: canary-dead-postgres-${suffix} }
spec:
  type: postgres
  driver: postgres
  inputs:
    values: { host: 127.0.0.1, port: ${deadPort}, adminUser: ${adminRole}, connectTimeoutSeconds: 2 }
    secrets: { adminPassword: { env: CANARY_DEAD_PASSWORD } }
  criteria: [ { app: ${brokenApp} } ]
---
apiVersion: paved.dev/v1
kind: ResourceDefinition
metadata: { name: canary-command-${suffix} }
spec:
  type: redis
  driver: command
  inputs:
    values:
      command: /bin/sh
      args: ["-c", "echo \\"could not connect to $DATABASE_URL\\" >&2; exit 3"]
    secrets: { DATABASE_URL: { env: CANARY_COMMAND_URL } }
  criteria: [ { app: ${brokenApp} } ]
`,
    );
    await ok('apply', '-f', join(root, 'platform.yaml'));

    const workload = join(root, 'api');
    await mkdir(workload);
    await writeFile(join(workload, 'server.mjs'), SERVER_JS);
    await writeFile(join(workload, 'score.yaml'), SCORE);
    await ok('apps', 'create', app);
    await ok('envs', 'create', app, 'dev', '--type', 'development');
    // App scope: both of the app's environments get it.
    await ok('values', 'set', app, '--secret', `API_TOKEN=${CANARIES['environment secret']}`);
    const plan = await collect('deploy', app, 'dev', join(workload, 'score.yaml'), '--plan', '-o', 'json');
    expect(plan.code, plan.stderr).toBe(0);
    const deployed = await collect('deploy', app, 'dev', join(workload, 'score.yaml'), '--wait');
    expect(deployed.code, `${deployed.stdout}\n${deployed.stderr}`).toBe(0);

    // The driver's secret outputs, from the store's decrypted view: known here only to search for.
    const store = await openStore({ dataDir });
    try {
      const box = new SecretBox(await readFile(join(dataDir, 'master.key')));
      const db = (await store.resources.list(app, 'dev')).find((resource) => resource.type === 'postgres');
      const secrets = JSON.parse(box.open(db!.sealedSecrets!)) as Record<string, string>;
      expect(secrets.password).toMatch(/.{16,}/);
      CANARIES['driver output: database password'] = secrets.password!;
      CANARIES['driver output: database URI'] = secrets.uri!;
    } finally {
      await store.close();
    }

    // Delivery: the workload was started with every secret it asked for.
    const status = JSON.parse((await ok('status', app, 'dev', '-o', 'json')).stdout) as {
      workloads: { endpoints: string[] }[];
    };
    const endpoint = new URL(status.workloads[0]!.endpoints[0]!);
    const served = JSON.parse(await viaGateway(endpoint.host)) as Record<string, string>;
    expect(served).toEqual({
      apiToken: sha256(CANARIES['environment secret']!),
      dbPassword: sha256(CANARIES['driver output: database password']),
      dbUri: sha256(CANARIES['driver output: database URI']),
    });

    // The docker variant: secrets reach the container's environment at create, never its labels.
    await ok('envs', 'create', app, 'dock', '--type', 'development', '--target', 'docker');
    const boxed = join(root, 'boxed');
    await mkdir(boxed);
    await writeFile(join(boxed, 'score.yaml'), DOCKER_SCORE);
    const docked = await collect('deploy', app, 'dock', join(boxed, 'score.yaml'), '--wait');
    expect(docked.code, `${docked.stdout}\n${docked.stderr}`).toBe(0);
    const containers = (await engine(
      `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`dev.paved.app=${app}`] }))}`,
    )) as { Id: string }[];
    expect(containers.length).toBeGreaterThan(0);
    let delivered = 0;
    for (const { Id } of containers) {
      const inspected = (await engine(`/containers/${Id}/json`)) as {
        Config: { Env?: string[]; Labels?: Record<string, string> };
      };
      if (inspected.Config.Env?.includes(`API_TOKEN=${CANARIES['environment secret']}`)) delivered += 1;
      searched.push({
        where: `labels of container ${Id}`,
        text: JSON.stringify(inspected.Config.Labels ?? {}),
      });
    }
    expect(delivered).toBe(1);
    for (const kind of ['networks', 'volumes']) {
      searched.push({ where: `the engine's ${kind}`, text: JSON.stringify(await engine(`/${kind}`)) });
    }

    // Driver errors: a server that does not answer, and a command echoing its connection string.
    await ok('apps', 'create', brokenApp);
    await ok('envs', 'create', brokenApp, 'dev', '--type', 'development');
    for (const [name, score] of [
      ['dead', BROKEN_DB_SCORE],
      ['echoer', BROKEN_COMMAND_SCORE],
    ] as const) {
      const dir = join(root, name);
      await mkdir(dir);
      await writeFile(join(dir, 'score.yaml'), score);
      const failed = await collect('deploy', brokenApp, 'dev', join(dir, 'score.yaml'), '--wait');
      expect(failed.code, `${failed.stdout}\n${failed.stderr}`).toBe(6);
    }
    const failures = JSON.parse((await ok('deployments', 'list', brokenApp, 'dev', '-o', 'json')).stdout) as {
      status: string;
    }[];
    expect(failures.map((deployment) => deployment.status)).toEqual(['failed', 'failed']);
  }, 240_000);

  it('finds no canary in any GET answer of the API', async () => {
    const document = JSON.parse((await api('/api/openapi.json')).text) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const resources = JSON.parse((await api(`/api/v1/apps/${app}/envs/dev/resources`)).text) as {
      items: { uid: string }[];
    };
    const uid = resources.items.find((resource) => resource.uid.startsWith('postgres.'))?.uid ?? 'x';
    const tokens = JSON.parse((await api('/api/v1/tokens')).text) as { items?: { id: string }[] };
    const first = (await api(`/api/v1/apps/${app}/envs/dev/deployments/1`)).text;
    const setId = (JSON.parse(first) as { setId?: string }).setId ?? 'x';
    const hash = /sha256:[0-9a-f]{64}/.exec(first)?.[0] ?? 'x';
    const fill: Record<string, string> = {
      app,
      env: 'dev',
      number: '1',
      n: '1',
      deployment: '1',
      first: '1',
      second: '1',
      workload: 'api',
      container: 'main',
      uid,
      resource: uid,
      name: `canary-postgres-${suffix}`,
      definition: `canary-postgres-${suffix}`,
      target: 'process',
      team: 'x',
      user: 'admin',
      id: tokens.items?.[0]?.id ?? 'x',
      envType: 'development',
      type: 'development',
      key: 'API_TOKEN',
      setId,
      hash,
    };
    const gets = Object.entries(document.paths).filter(([, methods]) => 'get' in methods);
    expect(gets.length).toBeGreaterThan(20);
    const unfilled: string[] = [];
    for (const [template] of gets) {
      for (const [target, targetEnv] of [
        [app, 'dev'],
        [app, 'dock'],
        [brokenApp, 'dev'],
      ] as const) {
        const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
          if (name === 'app') return target;
          if (name === 'env') return targetEnv;
          if (fill[name] === undefined) unfilled.push(`${template} {${name}}`);
          return encodeURIComponent(fill[name] ?? 'x');
        });
        const answer = await api(`${path}${path.includes('?') ? '&' : '?'}limit=500`);
        searched.push({ where: `GET ${path} (${answer.status})`, text: answer.text });
      }
    }
    expect(unfilled).toEqual([]);
    // The failed deployments' events, as a follower of the stream sees them.
    for (const number of [1, 2]) {
      const events = await api(`/api/v1/apps/${brokenApp}/envs/dev/deployments/${number}/events`);
      expect(events.status).toBe(200);
      expect(events.text).toMatch(/event: end/);
      searched.push({ where: `SSE events of ${brokenApp}/dev#${number}`, text: events.text });
    }
    const errorOf = async (number: number) =>
      (
        JSON.parse((await api(`/api/v1/apps/${brokenApp}/envs/dev/deployments/${number}`)).text) as {
          error?: string;
        }
      ).error;
    // The errors are there and clear; the connection string the command echoed shows masked.
    expect(await errorOf(1)).toMatch(/driver "postgres": cannot reach/);
    expect(await errorOf(2)).toMatch(/exited with code 3; last stderr lines: could not connect to \*\*\*/);
  }, 120_000);

  it('finds no canary in any read command of the CLI, at every -o', async () => {
    const context = new CliContext({ stdout: process.stdout, stderr: process.stderr, env: {} } as never);
    const program = createProgram(context);
    const withOutput: string[] = [];
    const walk = (command: typeof program, path: string[]) => {
      for (const sub of command.commands) {
        if (sub.commands.length > 0) walk(sub, [...path, sub.name()]);
        else if (sub.options.some((option) => option.long === '--output'))
          withOutput.push([...path, sub.name()].join(' '));
      }
    };
    walk(program, []);
    // Every command taking -o is here: a new one fails the test until it is searched too.
    const READ: Record<string, string[][]> = {
      'apps list': [[]],
      'apps get': [[app]],
      'envs list': [[app]],
      'envs get': [[app, 'dev']],
      'values list': [[app]],
      'values history': [[app]],
      status: [
        [app, 'dev'],
        [app, 'dock'],
      ],
      'deployments list': [[brokenApp, 'dev']],
      'deployments get': [
        [app, 'dev', '1'],
        [app, 'dock', '1'],
        [brokenApp, 'dev', '1'],
        [brokenApp, 'dev', '2'],
      ],
      'deployments diff': [[brokenApp, 'dev', '1', '2']],
      'resources list': [
        [app, 'dev'],
        [app, 'dock'],
      ],
      'resources explain': [[app, 'dev', 'api', 'db']],
      'resources definitions list': [[]],
      'resources definitions get': [[`canary-postgres-${suffix}`], [`canary-command-${suffix}`]],
      export: [[]],
      'targets list': [[]],
      whoami: [[]],
      'users list': [[]],
      'users get': [['admin']],
      'teams list': [[]],
      'teams get': [['x']],
      'tokens list': [[]],
      'roles list': [[]],
      'audit list': [[]],
      'audit verify': [[]],
    };
    // Commands that change something, or only check local files: searched where the test runs them.
    const NOT_READS = new Set([
      'score validate',
      'deploy',
      'deployments cancel',
      'rollback',
      'promote',
      'apply',
      'tokens create',
      'admin rotate-master-key',
    ]);
    expect(withOutput.filter((name) => !(name in READ) && !NOT_READS.has(name))).toEqual([]);
    const runs = Object.entries(READ).flatMap(([name, argLists]) =>
      argLists.flatMap((args) =>
        ['table', 'json', 'yaml'].map((format) => [...name.split(' '), ...args, '-o', format]),
      ),
    );
    // A few at a time: each is a Node process of its own.
    for (let index = 0; index < runs.length; index += 4) {
      await Promise.all(runs.slice(index, index + 4).map((args) => collect(...args)));
    }
    await collect('logs', app, 'dev', 'api');
    await collect('audit', 'export');
  }, 600_000);

  it('finds no canary in the server log, the database, or any process command line — zero hits anywhere', async () => {
    searched.push({
      where: 'the server log (stdout and stderr, the gateway included)',
      text: server.output(),
    });
    for (const cell of await dumpDatabase({ dataDir })) {
      searched.push({ where: `database ${cell.table}.${cell.column}`, text: cell.value });
    }
    // Files at rest: the database file is left out, its rows were searched above (secrets in them
    // are sealed); everything else the server keeps must hold no secret in plain text.
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.isFile() && !entry.name.startsWith(SQLITE_FILE_NAME)) {
          searched.push({ where: `file ${path}`, text: readFileSync(path, 'latin1') });
        }
      }
    };
    walk(dataDir);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
        searched.push({ where: `process ${entry} command line`, text: cmdline });
      } catch {
        // Gone meanwhile.
      }
    }
    // The search covered what it should: the log, the rows, the answers and the CLI output are there.
    expect(searched.some((entry) => entry.where.startsWith('database value_changes'))).toBe(true);
    expect(searched.some((entry) => entry.where.startsWith('GET /api/v1/apps/'))).toBe(true);
    expect(searched.filter((entry) => entry.where.startsWith('paved ')).length).toBeGreaterThan(90);
    expect(
      searched.some((entry) =>
        /^file .*\/runtime\/process\/.*\/instances\/.*\/spec\.json$/.test(entry.where),
      ),
    ).toBe(true);
    expect(Object.keys(CANARIES)).toHaveLength(6);

    // The control: the search does find a canary where it belongs, in the workload's environment.
    const environments = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map((entry) => {
        try {
          return readFileSync(`/proc/${entry}/environ`, 'utf8');
        } catch {
          return '';
        }
      });
    expect(
      environments.filter((text) => text.includes(CANARIES['environment secret']!)).length,
    ).toBeGreaterThan(0);

    const hits: string[] = [];
    for (const [what, value] of Object.entries(CANARIES)) {
      for (const entry of searched) {
        if (entry.text.includes(value)) hits.push(`${what} in ${entry.where}`);
      }
    }
    expect(hits).toEqual([]);
  });
});
