// `paved deploy --plan`, unchanged redeploys, partial deploys and `--prune` on the docker target
// (Podman through its Docker Engine API), as a user runs them with the built CLI. The plan shows
// images, variables and volumes with secrets masked and creates nothing on the engine; deploying
// the same files again, or only another workload, restarts no container (same container ids, same
// StartedAt); `--prune` removes the workloads not given and only detaches their volume, whose
// data stays on the engine.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
const IMAGE = 'localhost/busybox:paved';
/** An app name of this run's own: the engine is shared with other test files and runs. */
const APP = `ppd-${randomBytes(3).toString('hex')}`;
const API_KEY = `key-${randomBytes(12).toString('hex')}`;
/** Stops at once on SIGTERM (a shell as PID 1 ignores it unless it traps it). */
const IDLE = "trap 'exit 0' TERM; while true; do sleep 1; done";

function apiScore(): string {
  return `apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  main:
    image: ${IMAGE}
    command: ["sh", "-c", "${IDLE}"]
    variables:
      API_KEY: \${resources.env.API_KEY}
    resources:
      limits:
        memory: 64Mi
resources:
  env:
    type: environment
`;
}

function workerScore(version: string): string {
  return `apiVersion: score.dev/v1b1
metadata:
  name: worker
containers:
  main:
    image: ${IMAGE}
    command: ["sh", "-c", "echo written > /data/marker; ${IDLE}"]
    variables:
      VERSION: "${version}"
    volumes:
      /data:
        source: \${resources.data}
resources:
  data:
    type: volume
`;
}

let root: string;
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

/** Per workload: its containers' ids with when each started, from the engine. */
async function containers(): Promise<Record<string, string[]>> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`dev.paved.app=${APP}`] }));
  const list = (await engine(`/containers/json?all=true&filters=${filters}`)) as {
    Id: string;
    Labels: Record<string, string>;
  }[];
  const found: Record<string, string[]> = {};
  for (const container of list) {
    const workload = container.Labels['dev.paved.workload'];
    if (workload === undefined) continue;
    const inspected = (await engine(`/containers/${container.Id}/json`)) as {
      State: { StartedAt: string; Running: boolean };
    };
    (found[workload] ??= []).push(
      `${container.Id} ${inspected.State.StartedAt} ${inspected.State.Running ? 'running' : 'stopped'}`,
    );
  }
  for (const list of Object.values(found)) list.sort();
  return found;
}

async function volumes(): Promise<{ Name: string; Mountpoint: string }[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`dev.paved.app=${APP}`] }));
  return (
    (
      (await engine(`/volumes?filters=${filters}`)) as {
        Volumes: { Name: string; Mountpoint: string }[] | null;
      }
    ).Volumes ?? []
  );
}

async function resourceStatuses(): Promise<Record<string, string>> {
  const list = JSON.parse((await ok('resources', 'list', APP, 'dev', '-o', 'json')).stdout) as {
    uid: string;
    status: string;
  }[];
  return Object.fromEntries(list.map((resource) => [resource.uid, resource.status]));
}

beforeAll(async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), 'paved-e2e-plan-docker-'));
  await mkdir(join(root, 'home'));
  await writeFile(join(root, 'api.yaml'), apiScore());
  await writeFile(join(root, 'worker.yaml'), workerScore('1'));
  const base = isolatedEnv(join(root, 'home'), { DOCKER_HOST: `unix://${SOCKET}` });
  server = await startPavedServer(['--port', '0', '--gateway-port', '0', '--data-dir', join(root, 'data')], {
    env: base,
  });
  env = { ...base, PAVED_URL: server.url, PAVED_DATA_DIR: join(root, 'data') };
});

afterAll(async () => {
  if (server !== undefined) {
    await paved('envs', 'delete', APP, 'dev', '--delete-data').catch(() => undefined);
    await server.stop();
  }
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('plan, unchanged redeploys, partial deploys and --prune through the CLI (docker target)', () => {
  let first: Record<string, string[]>;

  it('plans the first deploy with images and masked secrets, creating nothing on the engine', async () => {
    await ok('apps', 'create', APP);
    await ok('envs', 'create', APP, 'dev', '--type', 'development', '--target', 'docker');
    await ok('values', 'set', APP, 'dev', `API_KEY=${API_KEY}`, '--secret');

    const run = await ok('deploy', APP, 'dev', 'api.yaml', 'worker.yaml', '--plan');
    expect(run.stdout).toMatch(/^ {2}\+ api +create +\(not running\)$/m);
    expect(run.stdout).toContain(`      + containers.main.image = ${IMAGE}`);
    expect(run.stdout).toContain('      + containers.main.variables.API_KEY = (secret)');
    expect(run.stdout).toContain('      + containers.main.limits = {"memory":"64Mi"}');
    expect(run.stdout).toMatch(/^ {6}\+ containers\.main\.volumes\.\/data = \{.*"source":"paved-/m);
    expect(run.stdout).toMatch(/^ {2}\+ provision +volume\.default#worker\.data +volume /m);
    const json = await ok('deploy', APP, 'dev', 'api.yaml', 'worker.yaml', '--plan', '-o', 'json');
    expect(run.stdout + run.stderr + json.stdout).not.toContain(API_KEY);
    expect(JSON.parse(json.stdout)).toMatchObject({ noChanges: false });

    expect(await containers()).toEqual({});
    expect(await volumes()).toEqual([]);
    expect(await resourceStatuses()).toEqual({});
  });

  it('deploys, and plans the same files as "No changes"', async () => {
    await ok('deploy', APP, 'dev', 'api.yaml', 'worker.yaml', '--wait');
    first = await containers();
    expect(Object.keys(first).sort()).toEqual(['api', 'worker']);
    const run = await ok('deploy', APP, 'dev', 'api.yaml', 'worker.yaml', '--plan');
    expect(run.stdout).toContain('No changes: deploying this provisions nothing and restarts nothing.');
  });

  it('restarts no container when the same files are deployed again', async () => {
    const run = await ok('deploy', APP, 'dev', 'api.yaml', 'worker.yaml', '--wait');
    expect(run.stderr).toMatch(new RegExp(`Deployment 2 of ${APP}/dev succeeded`));
    expect(await containers()).toEqual(first);
  });

  it('keeps the workloads a partial deploy does not give, their containers untouched', async () => {
    await writeFile(join(root, 'worker.yaml'), workerScore('2'));
    const plan = await ok('deploy', APP, 'dev', 'worker.yaml', '--plan');
    expect(plan.stdout).toMatch(
      /^ {2}= api +unchanged +\(not given, kept as it runs; --prune removes it\)$/m,
    );
    expect(plan.stdout).toMatch(
      /^ {2}~ worker +update +\(spec changed\)\n {6}~ containers\.main\.variables\.VERSION: 1 → 2$/m,
    );
    await ok('deploy', APP, 'dev', 'worker.yaml', '--wait');
    const after = await containers();
    expect(after.api).toEqual(first.api);
    expect(after.worker).toBeDefined();
    expect(after.worker).not.toEqual(first.worker);
  });

  it('prunes the workloads not given, keeping their volume and its data', async () => {
    const [volume] = await volumes();
    expect(volume).toBeDefined();
    const plan = await ok('deploy', APP, 'dev', 'api.yaml', '--prune', '--plan');
    expect(plan.stdout).toMatch(/^ {2}- worker +delete +\(not in the deployment\)$/m);
    expect(plan.stdout).toMatch(/^ {2}> detach +volume\.default#worker\.data +volume /m);

    const before = await containers();
    await ok('deploy', APP, 'dev', 'api.yaml', '--prune', '--wait');
    expect(await containers()).toEqual({ api: before.api });
    expect(await resourceStatuses()).toEqual({
      'environment.default#api.env': 'ready',
      'volume.default#worker.data': 'detached',
    });
    expect((await volumes()).map((kept) => kept.Name)).toEqual([volume!.Name]);
    // Rootful Podman keeps a local volume's data under its mount point on this machine.
    expect(await readFile(join(volume!.Mountpoint, 'marker'), 'utf8')).toBe('written\n');
  });
});
