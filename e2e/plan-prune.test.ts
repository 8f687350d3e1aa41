// `paved deploy --plan`, unchanged redeploys, partial deploys and `--prune` as a user runs them:
// the built CLI against a real server on the process target, a PostgreSQL database on the
// machine's shared server and a volume. The plan shows every rendered field with secrets masked
// and touches nothing; deploying the same files again, or only another workload, restarts
// nothing (same process ids, no restarts counted); `--prune` removes the workloads not given and
// only detaches their stateful resources, whose data stays.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, isolatedEnv, runPaved, startPavedServer } from './helpers/paved-cli.js';
import type { PavedRun, PavedServerProcess } from './helpers/paved-cli.js';

const APP = `pp-${randomBytes(3).toString('hex')}`;
/** A secret value of the environment: never printed, in a table or in JSON. */
const API_KEY = `key-${randomBytes(12).toString('hex')}`;
const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432';

const SERVER_JS = `
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
if (process.env.DATA_DIR) writeFileSync(process.env.DATA_DIR + '/marker', 'written by ' + process.pid);
createServer((req, res) => res.end(JSON.stringify({ pid: process.pid, version: process.env.VERSION })))
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

function apiScore(): string {
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
      API_KEY: \${resources.env.API_KEY}
      GREETING: hello
    resources:
      limits:
        memory: 256Mi
resources:
  env:
    type: environment
`;
}

function workerScore(version: string): string {
  return `apiVersion: score.dev/v1b1
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
      VERSION: "${version}"
      DATA_DIR: ../root/data
      DB_HOST: \${resources.db.host}
      DB_URI: \${resources.db.uri}
    volumes:
      /data:
        source: \${resources.data}
resources:
  db:
    type: postgres
  data:
    type: volume
`;
}

let root: string;
let workDir: string;
let server: PavedServerProcess;
let env: NodeJS.ProcessEnv;

function paved(...args: string[]): Promise<PavedRun> {
  return runPaved(args, { env, cwd: root });
}

async function ok(...args: string[]): Promise<PavedRun> {
  const run = await paved(...args);
  expect(run.code, `paved ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

/** The live processes of a workload, found by their working directory (its context copy). */
function pidsOf(workload: string): number[] {
  const prefix = `${join(workDir, APP, 'dev', 'workloads', workload)}/`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (/\) [ZX] /.test(readFileSync(`/proc/${entry}/stat`, 'utf8'))) continue;
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(prefix)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids.sort();
}

/** Per workload: the deployment that started it and the restarts its supervisor counted. */
async function restarts(): Promise<Record<string, { deployment?: number; restarts: number }>> {
  const status = JSON.parse((await ok('status', APP, 'dev', '-o', 'json')).stdout) as {
    workloads: { name: string; deployment?: number; containers: { restarts: number }[] }[];
  };
  return Object.fromEntries(
    status.workloads.map((workload) => [
      workload.name,
      {
        deployment: workload.deployment,
        restarts: workload.containers.reduce((sum, container) => sum + container.restarts, 0),
      },
    ]),
  );
}

async function resourceStatuses(): Promise<Record<string, string>> {
  const list = JSON.parse((await ok('resources', 'list', APP, 'dev', '-o', 'json')).stdout) as {
    uid: string;
    status: string;
  }[];
  return Object.fromEntries(list.map((resource) => [resource.uid, resource.status]));
}

async function onPostgres<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: `${ADMIN_URL}/${database}` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function databases(): Promise<string[]> {
  return onPostgres('postgres', async (client) => {
    const rows = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname',
      [`paved_${APP.replace(/-/g, '_')}_%`],
    );
    return rows.rows.map((row) => row.datname);
  });
}

beforeAll(async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), 'paved-e2e-plan-'));
  await mkdir(join(root, 'home'));
  for (const [name, score] of [
    ['api', apiScore()],
    ['worker', workerScore('1')],
  ] as const) {
    await mkdir(join(root, name));
    await writeFile(join(root, name, 'score.yaml'), score);
    await writeFile(join(root, name, 'server.mjs'), SERVER_JS);
  }
  await writeFile(
    join(root, 'postgres.yaml'),
    [
      'apiVersion: paved.dev/v1',
      'kind: ResourceDefinition',
      `metadata: { name: ${APP}-postgres }`,
      'spec:',
      '  type: postgres',
      '  driver: postgres',
      '  inputs:',
      '    values: { host: 127.0.0.1, port: 5432, adminUser: postgres }',
      `  criteria: [ { app: ${APP} } ]`,
      '',
    ].join('\n'),
  );
  const base = isolatedEnv(join(root, 'home'));
  const dataDir = join(root, 'data');
  // Where the server puts workloads' copies: outside the data directory, named after it.
  workDir = join(
    tmpdir(),
    `paved-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`,
    'work',
  );
  server = await startPavedServer(['--port', '0', '--gateway-port', '0', '--data-dir', dataDir], {
    env: base,
  });
  env = { ...base, PAVED_URL: server.url, PAVED_DATA_DIR: dataDir };
});

afterAll(async () => {
  if (server !== undefined) {
    await paved('envs', 'delete', APP, 'dev', '--delete-data').catch(() => undefined);
    await paved('resources', 'definitions', 'delete', `${APP}-postgres`, '--force').catch(() => undefined);
    await server.stop();
  }
  if (root !== undefined) await rm(root, { recursive: true, force: true });
  if (workDir !== undefined) await rm(join(workDir, '..'), { recursive: true, force: true });
});

describe('plan, unchanged redeploys, partial deploys and --prune through the CLI (process target)', () => {
  let apiPids: number[];
  let workerPids: number[];

  it('sets up the app, its secret value and a PostgreSQL definition', async () => {
    await ok('apps', 'create', APP);
    await ok('envs', 'create', APP, 'dev', '--type', 'development');
    await ok('values', 'set', APP, 'dev', `API_KEY=${API_KEY}`, '--secret');
    await ok('apply', '-f', 'postgres.yaml');
  });

  it('prints a readable plan of every rendered field, secrets masked, and changes nothing', async () => {
    const run = await ok('deploy', APP, 'dev', 'api/score.yaml', 'worker/score.yaml', '--plan');
    expect(run.stdout).toContain(`Plan for ${APP}/dev (nothing has been changed):`);
    expect(run.stdout).toMatch(/^ {2}\+ api +create +\(not running\)$/m);
    expect(run.stdout).toContain('      + containers.main.image = .');
    expect(run.stdout).toContain('      + containers.main.variables.API_KEY = (secret)');
    expect(run.stdout).toContain('      + containers.main.variables.GREETING = hello');
    expect(run.stdout).toContain('      + containers.main.limits = {"memory":"256Mi"}');
    expect(run.stdout).toContain('      + containers.main.variables.DB_HOST = (known after provisioning)');
    expect(run.stdout).toContain(
      '      + containers.main.variables.DB_URI = (secret), (known after provisioning)',
    );
    expect(run.stdout).toMatch(/^ {2}\+ provision +postgres\.default#worker\.db +postgres /m);
    expect(run.stdout).toMatch(/^ {2}\+ provision +volume\.default#worker\.data +volume /m);
    expect(run.stdout).toMatch(/^Summary: workloads: 2 to create; resources: 3 to create$/m);
    expect(run.stdout).not.toContain('No changes');
    expect(run.stdout + run.stderr).not.toContain(API_KEY);

    const json = await ok(
      'deploy',
      APP,
      'dev',
      'api/score.yaml',
      'worker/score.yaml',
      '--plan',
      '-o',
      'json',
    );
    expect(json.stdout).not.toContain(API_KEY);
    const plan = JSON.parse(json.stdout) as {
      noChanges: boolean;
      workloads: { name: string; action: string; changes: { field: string; after?: string }[] }[];
    };
    expect(plan.noChanges).toBe(false);
    expect(plan.workloads.find((workload) => workload.name === 'worker')?.changes).toContainEqual({
      field: 'ports.http',
      after: '{"port":8081,"protocol":"TCP","targetPort":8081}',
    });

    // Nothing was provisioned, recorded or started.
    expect(JSON.parse((await ok('deployments', 'list', APP, 'dev', '-o', 'json')).stdout)).toEqual([]);
    expect(await resourceStatuses()).toEqual({});
    expect(await databases()).toEqual([]);
    expect([...pidsOf('api'), ...pidsOf('worker')]).toEqual([]);
  });

  it('deploys, and then plans the same files as "No changes"', async () => {
    await ok('deploy', APP, 'dev', 'api/score.yaml', 'worker/score.yaml', '--wait');
    apiPids = pidsOf('api');
    workerPids = pidsOf('worker');
    expect(apiPids.length).toBeGreaterThan(0);
    expect(workerPids.length).toBeGreaterThan(0);

    const run = await ok('deploy', APP, 'dev', 'api/score.yaml', 'worker/score.yaml', '--plan');
    expect(run.stdout).toMatch(/^ {2}= api +unchanged +\(spec unchanged\)$/m);
    expect(run.stdout).toMatch(/^ {2}= keep +postgres\.default#worker\.db /m);
    expect(run.stdout).toMatch(/^Summary: no changes \(/m);
    expect(run.stdout).toContain('No changes: deploying this provisions nothing and restarts nothing.');
  });

  it('restarts nothing when the same files are deployed again', async () => {
    const before = await restarts();
    expect(before).toEqual({ api: { deployment: 1, restarts: 0 }, worker: { deployment: 1, restarts: 0 } });
    const run = await ok('deploy', APP, 'dev', 'api/score.yaml', 'worker/score.yaml', '--wait');
    expect(run.stderr).toMatch(new RegExp(`Deployment 2 of ${APP}/dev succeeded`));
    expect(pidsOf('api')).toEqual(apiPids);
    expect(pidsOf('worker')).toEqual(workerPids);
    expect(await restarts()).toEqual(before);
  });

  it('keeps and does not restart the workloads a partial deploy does not give', async () => {
    await writeFile(join(root, 'worker', 'score.yaml'), workerScore('2'));
    const plan = await ok('deploy', APP, 'dev', 'worker/score.yaml', '--plan');
    expect(plan.stdout).toMatch(
      /^ {2}= api +unchanged +\(not given, kept as it runs; --prune removes it\)$/m,
    );
    expect(plan.stdout).toMatch(
      /^ {2}~ worker +update +\(spec changed\)\n {6}~ containers\.main\.context: sha256:[0-9a-f]{12}… → sha256:[0-9a-f]{12}…\n {6}~ containers\.main\.variables\.VERSION: 1 → 2$/m,
    );

    await ok('deploy', APP, 'dev', 'worker/score.yaml', '--wait');
    expect(pidsOf('api')).toEqual(apiPids);
    expect(pidsOf('worker')).not.toEqual(workerPids);
    const after = await restarts();
    expect(after.api).toEqual({ deployment: 1, restarts: 0 });
    expect(after.worker?.deployment).toBe(3);
  });

  it('prunes the workloads not given, only detaching their database and volume, data kept', async () => {
    const [database] = await databases();
    expect(database).toBeDefined();
    await onPostgres(database!, async (client) => {
      await client.query('CREATE TABLE kept (note text)');
      await client.query("INSERT INTO kept VALUES ('still here')");
    });
    const volumes = join(workDir, APP, 'dev', 'volumes');
    const [volume] = readdirSync(volumes);
    expect(readFileSync(join(volumes, volume!, 'marker'), 'utf8')).toMatch(/^written by \d+$/);

    const plan = await ok('deploy', APP, 'dev', 'api/score.yaml', '--prune', '--plan');
    expect(plan.stdout).toMatch(/^ {2}- worker +delete +\(not in the deployment\)$/m);
    expect(plan.stdout).toMatch(/^ {2}> detach +postgres\.default#worker\.db /m);
    expect(plan.stdout).toMatch(/^ {2}> detach +volume\.default#worker\.data /m);

    await ok('deploy', APP, 'dev', 'api/score.yaml', '--prune', '--wait');
    expect(pidsOf('worker')).toEqual([]);
    expect(pidsOf('api')).toEqual(apiPids);
    expect(Object.keys(await restarts())).toEqual(['api']);
    expect(await resourceStatuses()).toEqual({
      'environment.default#api.env': 'ready',
      'postgres.default#worker.db': 'detached',
      'volume.default#worker.data': 'detached',
    });
    expect(await databases()).toEqual([database]);
    expect(
      await onPostgres(
        database!,
        async (client) => (await client.query<{ note: string }>('SELECT note FROM kept')).rows,
      ),
    ).toEqual([{ note: 'still here' }]);
    expect(readFileSync(join(volumes, volume!, 'marker'), 'utf8')).toMatch(/^written by \d+$/);
  });
});
