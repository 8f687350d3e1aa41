/**
 * An unchanged redeploy of a 20-workload app: the same Score files and contexts deployed a second
 * time through an in-process server, against the first deploy of the same app in the same run,
 * and how many workloads it restarted (target 0). Process target: trivial Node HTTP workloads;
 * docker target (the test engine of `scripts/setup-test-env.sh`, or `PAVED_BENCH_DOCKER_HOST`):
 * one busybox container per workload. A restart is counted from what runs, not from what Paved
 * reports: on the process target a workload started by another deployment or whose supervisor
 * counted a restart; on the docker target a container whose id or `StartedAt` changed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { PavedClient, packContext } from '@paved/client';
import { startServer } from '@paved/server';
import type { Benchmark, BenchReport } from './report.js';
import { round } from './report.js';

const COUNT = 20;
const SERVER_JS = `import { createServer } from 'node:http';
createServer((request, response) => response.end('ok')).listen(Number(process.env.PORT ?? 8080));
process.on('SIGTERM', () => process.exit(0));
`;
const BUSYBOX = 'localhost/busybox:paved';
/** A shell as PID 1 ignores SIGTERM unless it traps it. */
const IDLE = "trap 'exit 0' TERM; while true; do sleep 1; done";

function processScore(name: string): string {
  return [
    'apiVersion: score.dev/v1b1',
    `metadata: { name: ${name} }`,
    'service: { ports: { web: { port: 8080 } } }',
    'containers:',
    `  main: { image: ".", command: ["node", "server.js"], variables: { NAME: ${name} } }`,
    '',
  ].join('\n');
}

function dockerScore(name: string): string {
  return [
    'apiVersion: score.dev/v1b1',
    `metadata: { name: ${name} }`,
    'containers:',
    `  main: { image: "${BUSYBOX}", command: ["sh", "-c", "${IDLE}"], variables: { NAME: ${name} } }`,
    '',
  ].join('\n');
}

async function waitForDeployment(
  client: PavedClient,
  app: string,
  env: string,
  number: number,
): Promise<void> {
  for (;;) {
    const deployment = await client.getDeployment(app, env, number);
    if (deployment.status === 'succeeded') return;
    if (deployment.status === 'failed' || deployment.status === 'cancelled') {
      throw new Error(`deployment ${app}/${env}#${number} ${deployment.status}: ${deployment.error ?? ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function timedDeploy(
  client: PavedClient,
  app: string,
  env: string,
  workloads: { file: string; score: string; contexts?: Record<string, string> }[],
): Promise<number> {
  const start = performance.now();
  const deployment = await client.deploy(app, env, { workloads });
  await waitForDeployment(client, app, env, deployment.number);
  return performance.now() - start;
}

/** Per workload, what identifies the running instance: changes exactly when it was restarted. */
type Instances = Map<string, string>;

function restarted(before: Instances, after: Instances): number {
  let count = 0;
  for (const [name, identity] of before) if (after.get(name) !== identity) count += 1;
  return count;
}

function engineHost(): string | undefined {
  if (process.env.PAVED_BENCH_DOCKER_HOST !== undefined) return process.env.PAVED_BENCH_DOCKER_HOST;
  return existsSync('/run/paved-test/podman.sock') ? 'unix:///run/paved-test/podman.sock' : undefined;
}

async function run(): Promise<BenchReport> {
  const dataDir = mkdtempSync(join(tmpdir(), 'paved-bench-data-'));
  const contextDir = mkdtempSync(join(tmpdir(), 'paved-bench-context-'));
  writeFileSync(join(contextDir, 'server.js'), SERVER_JS);
  const host = engineHost();
  const server = await startServer({
    dataDir,
    port: 0,
    gatewayPort: 0,
    logLevel: 'warn',
    ...(host === undefined ? { dockerHost: false } : { dockerHost: host }),
  });
  const { token } = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { token: string };
  const client = new PavedClient({ url: server.url, token });
  const app = `bench-${process.pid}`;
  const rows: Record<string, string | number>[] = [];
  const notes = ['Target: 0 restarts; the ratio is the unchanged redeploy over the first deploy.'];
  try {
    await client.createApp({ name: app });
    const context = await packContext(contextDir);
    await client.uploadContext(app, context.hash, context.gzip);

    // Process target.
    {
      const env = 'process';
      await client.createEnv(app, { name: env, type: 'development' });
      const workloads = Array.from({ length: COUNT }, (_, i) => ({
        file: `w${i}/score.yaml`,
        score: processScore(`w${i}`),
        contexts: { main: context.hash },
      }));
      const instances = async (): Promise<Instances> => {
        const status = await client.status(app, env);
        return new Map(
          status.workloads.map((workload) => [
            workload.name,
            `${workload.deployment ?? ''}/${workload.containers.reduce((sum, c) => sum + c.restarts, 0)}`,
          ]),
        );
      };
      const firstMs = await timedDeploy(client, app, env, workloads);
      const before = await instances();
      const planStart = performance.now();
      const plan = await client.planDeployment(app, env, { workloads });
      const planMs = performance.now() - planStart;
      const againMs = await timedDeploy(client, app, env, workloads);
      rows.push({
        target: 'process',
        workloads: COUNT,
        'first deploy, ms': round(firstMs, 0),
        'unchanged redeploy, ms': round(againMs, 0),
        ratio: `${round(againMs / firstMs, 2)}×`,
        'plan, ms': round(planMs, 0),
        'plan says': plan.noChanges ? 'no changes' : plan.summary,
        restarts: restarted(before, await instances()),
      });
      await client.deleteEnv(app, env);
    }

    // Docker target, when the test engine is there.
    if (host === undefined) {
      notes.push(
        'docker: skipped, no engine (set PAVED_BENCH_DOCKER_HOST or run scripts/setup-test-env.sh).',
      );
    } else {
      const env = 'docker';
      const docker = new Docker({ socketPath: host.replace(/^unix:\/\//, '') });
      await client.createEnv(app, { name: env, type: 'development', target: 'docker' });
      const workloads = Array.from({ length: COUNT }, (_, i) => ({
        file: `w${i}/score.yaml`,
        score: dockerScore(`w${i}`),
      }));
      const instances = async (): Promise<Instances> => {
        const found = await docker.listContainers({
          all: true,
          filters: { label: [`dev.paved.app=${app}`, `dev.paved.env=${env}`] },
        });
        const map: Instances = new Map();
        for (const container of found) {
          const workload = container.Labels['dev.paved.workload'];
          if (workload === undefined) continue;
          const inspected = await docker.getContainer(container.Id).inspect();
          map.set(workload, `${container.Id}@${inspected.State.StartedAt}`);
        }
        return map;
      };
      try {
        const firstMs = await timedDeploy(client, app, env, workloads);
        const before = await instances();
        const planStart = performance.now();
        const plan = await client.planDeployment(app, env, { workloads });
        const planMs = performance.now() - planStart;
        const againMs = await timedDeploy(client, app, env, workloads);
        rows.push({
          target: 'docker (Podman)',
          workloads: COUNT,
          'first deploy, ms': round(firstMs, 0),
          'unchanged redeploy, ms': round(againMs, 0),
          ratio: `${round(againMs / firstMs, 2)}×`,
          'plan, ms': round(planMs, 0),
          'plan says': plan.noChanges ? 'no changes' : plan.summary,
          restarts: restarted(before, await instances()),
        });
      } finally {
        await client.deleteEnv(app, env, { deleteData: true });
      }
    }
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(contextDir, { recursive: true, force: true });
  }
  return {
    title: 'Unchanged redeploy of a 20-workload app (unchanged-redeploy)',
    method:
      'An in-process server on a fresh SQLite data directory deploys 20 workloads, then plans and deploys the same files again; each deploy timed from the API call to `succeeded`. Restarts are counted from what runs: on the process target a workload now started by another deployment or with a restart counted; on the docker target a container whose id or StartedAt changed.',
    rows,
    notes,
  };
}

export const benchmark: Benchmark = { name: 'unchanged-redeploy', run };
