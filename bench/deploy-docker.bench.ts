/**
 * Deploying N one-container workloads to a container engine through the docker target
 * (`DockerRuntime`: network, labels, published ports, forwarders, readiness gate) against creating
 * and starting the same containers directly through the Engine API (dockerode) and waiting until
 * each published port accepts connections, in the same run.
 *
 * The engine is `PAVED_BENCH_DOCKER_HOST`, else the test engine of `scripts/setup-test-env.sh`
 * (`unix:///run/paved-test/podman.sock`), else whatever `findDockerHost()` finds. The image is
 * `localhost/node-local:20` (made by the same script), so nothing is built or pulled in the loop.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import Docker from 'dockerode';
import type { RenderedWorkload } from '@paved/core';
import { DockerRuntime, findDockerHost } from '@paved/runtimes';
import type { Benchmark, BenchReport } from './report.js';
import { round } from './report.js';

const IMAGE = 'localhost/node-local:20';
const SERVER =
  "require('http').createServer((q, s) => s.end('ok')).listen(8080); process.on('SIGTERM', () => process.exit(0));";
const COMMAND = ['node', '-e', SERVER];

function engineHost(): string {
  if (process.env.PAVED_BENCH_DOCKER_HOST !== undefined) return process.env.PAVED_BENCH_DOCKER_HOST;
  if (existsSync('/run/paved-test/podman.sock')) return 'unix:///run/paved-test/podman.sock';
  const found = findDockerHost();
  if (found === undefined)
    throw new Error(
      'deploy-docker: no container engine found; run scripts/setup-test-env.sh or set PAVED_BENCH_DOCKER_HOST',
    );
  return found;
}

function workloads(count: number): RenderedWorkload[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `w${i}`,
    deployment: 1,
    specHash: `w${i}`,
    containers: {
      main: {
        image: IMAGE,
        command: COMMAND,
        variables: {},
        secretVariables: [],
        files: [],
        volumes: [],
        before: {},
      },
    },
    ports: { web: { port: 8080, targetPort: 8080, protocol: 'TCP' } },
  }));
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number): Promise<void> {
  while (!(await accepts(port))) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function deployThroughPaved(host: string, count: number, minUptimeMs?: number): Promise<number> {
  const name = `bench-${randomBytes(3).toString('hex')}`;
  const runtime = new DockerRuntime({
    name,
    host,
    graceMs: 2000,
    ...(minUptimeMs === undefined ? {} : { minUptimeMs }),
  });
  await runtime.init();
  const env = { app: 'bench', env: `n${count}` };
  try {
    const start = performance.now();
    const plan = await runtime.plan(env, workloads(count));
    const result = await runtime.apply(plan, () => undefined, new AbortController().signal);
    const ms = performance.now() - start;
    const failed = result.workloads.find((outcome) => !outcome.ok);
    if (failed !== undefined)
      throw new Error(`deploy-docker: ${failed.workload} failed: ${failed.error ?? ''}`);
    return ms;
  } finally {
    await runtime.destroy(env);
    await runtime.close();
  }
}

/** The baseline: what a script on the Engine API would do — create, start, wait for the port. */
async function deployDirectly(docker: Docker, count: number): Promise<number> {
  const tag = randomBytes(3).toString('hex');
  const containers: Docker.Container[] = [];
  try {
    const start = performance.now();
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const container = await docker.createContainer({
          name: `bench-direct-${tag}-${i}`,
          Image: IMAGE,
          Entrypoint: COMMAND,
          Cmd: [],
          ExposedPorts: { '8080/tcp': {} },
          HostConfig: { Init: true, PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
        });
        containers.push(container);
        await container.start();
        const info = await container.inspect();
        await waitForPort(Number(info.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort));
      }),
    );
    return performance.now() - start;
  } finally {
    await Promise.all(containers.map((container) => container.remove({ force: true })));
  }
}

async function run(): Promise<BenchReport> {
  const host = engineHost();
  const docker = new Docker(
    host.startsWith('unix://') ? { socketPath: host.slice('unix://'.length) } : { host },
  );
  const rows: Record<string, string | number>[] = [];
  // Warm-up: the first container start after the engine's start is slower for both.
  await deployDirectly(docker, 1);
  for (const count of [1, 10, 50]) {
    const pavedMs = await deployThroughPaved(host, count);
    const pavedNoUptimeMs = await deployThroughPaved(host, count, 0);
    const directMs = await deployDirectly(docker, count);
    rows.push({
      containers: count,
      'Paved deploy, ms': round(pavedMs, 0),
      'Paved, minUptimeMs 0, ms': round(pavedNoUptimeMs, 0),
      'direct create + start + port, ms': round(directMs, 0),
      ratio: `${round(pavedMs / directMs, 2)}×`,
      'ratio, minUptimeMs 0': `${round(pavedNoUptimeMs / directMs, 2)}×`,
    });
  }
  return {
    title: 'Deploy to a container engine (deploy-docker)',
    method: `DockerRuntime (engine ${host}) deploys N one-container workloads (image ${IMAGE}, a Node HTTP server, no probe) to a new environment: plan + apply, from the call until the readiness gate passed for all. Baseline: creating and starting the same N containers directly through dockerode (same image, command, init and 127.0.0.1 port publishing) and waiting until every published port accepts a TCP connection, in the same run. The default readiness rule also wants a container without a readiness probe to have run for 1 s (minUptimeMs); the second column shows the same deploy without that wait.`,
    rows,
    notes: ['Target: ratio ≤ 1.3× (issue 4).'],
  };
}

export const benchmark: Benchmark = { name: 'deploy-docker', run };
