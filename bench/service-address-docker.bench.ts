/**
 * The price of a workload's service address on the docker target (one more hop inside the
 * environment's network, HTTP relayed per request): a client container calls `api` by its name —
 * through the address — and, as the baseline in the same run, straight at the api instance's IP
 * address in the network, as the instance-held alias did before. Both over fetch's kept-alive
 * connections, sequentially (latency) and 16 at a time (throughput), in alternating rounds.
 *
 * The engine is `PAVED_BENCH_DOCKER_HOST`, else the test engine of `scripts/setup-test-env.sh`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import type { RenderedWorkload } from '@paved/core';
import { DockerRuntime, findDockerHost } from '@paved/runtimes';
import type { Benchmark, BenchReport } from './report.js';
import { round } from './report.js';

const IMAGE = 'localhost/node-local:20';
const API = "require('http').createServer((q, s) => s.end('ok')).listen(8080);";
const ROUNDS = 4;
const REQUESTS = 1000;

/** Runs in the client container: `node -e CLIENT <url> <requests> <concurrency>`, prints ms. */
const CLIENT = `
const [url, total, concurrency] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
let next = 0;
async function worker() {
  while (next < total) {
    next += 1;
    const answer = await fetch(url);
    if ((await answer.text()) !== 'ok') throw new Error('unexpected answer');
  }
}
(async () => {
  await fetch(url).then((answer) => answer.text());
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  console.log(performance.now() - started);
})();
`;

function engineHost(): string {
  if (process.env.PAVED_BENCH_DOCKER_HOST !== undefined) return process.env.PAVED_BENCH_DOCKER_HOST;
  if (existsSync('/run/paved-test/podman.sock')) return 'unix:///run/paved-test/podman.sock';
  const found = findDockerHost();
  if (found === undefined)
    throw new Error('service-address-docker: no container engine found; run scripts/setup-test-env.sh');
  return found;
}

function workload(name: string, command: string[], ports: RenderedWorkload['ports']): RenderedWorkload {
  return {
    name,
    deployment: 1,
    specHash: name,
    containers: {
      main: { image: IMAGE, command, variables: {}, secretVariables: [], files: [], volumes: [], before: {} },
    },
    ports,
  };
}

/** Runs the client script in the container; returns the milliseconds it reported. */
async function run(docker: Docker, container: string, url: string, concurrency: number): Promise<number> {
  const exec = await docker.getContainer(container).exec({
    Cmd: ['node', '-e', CLIENT, url, String(REQUESTS), String(concurrency)],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  docker.modem.demuxStream(stream, stdout, stderr);
  let output = '';
  let errors = '';
  stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  await new Promise((resolve) => stream.on('end', resolve));
  const ms = Number(output.trim());
  if (!Number.isFinite(ms) || ms <= 0) throw new Error(`client failed: ${errors || output}`);
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export const benchmark: Benchmark = {
  name: 'service-address-docker',
  async run(): Promise<BenchReport> {
    const host = engineHost();
    const target = `bench-${randomBytes(3).toString('hex')}`;
    const runtime = new DockerRuntime({ name: target, host, graceMs: 2000 });
    await runtime.init();
    const env = { app: 'bench', env: `addr${randomBytes(2).toString('hex')}` };
    const docker = new Docker(
      host.startsWith('unix://') ? { socketPath: host.slice('unix://'.length) } : { host },
    );
    try {
      const desired = [
        workload('api', ['node', '-e', API], { web: { port: 8080, targetPort: 8080, protocol: 'TCP' } }),
        workload('client', ['node', '-e', 'setInterval(() => {}, 1 << 30)'], {}),
      ];
      const result = await runtime.apply(
        await runtime.plan(env, desired),
        () => undefined,
        new AbortController().signal,
      );
      const failed = result.workloads.find((outcome) => !outcome.ok);
      if (failed !== undefined) throw new Error(`deploy failed: ${failed.error ?? ''}`);
      const containers = await docker.listContainers({
        filters: { label: [`dev.paved.target=${target}`, 'dev.paved.container=main'] },
      });
      const idOf = (workload: string): string =>
        containers.find((info) => info.Labels['dev.paved.workload'] === workload)?.Id ?? '';
      const apiInfo = await docker.getContainer(idOf('api')).inspect();
      const ip = Object.values(apiInfo.NetworkSettings.Networks)[0]?.IPAddress ?? '';
      const client = idOf('client');

      const rows: BenchReport['rows'] = [];
      for (const concurrency of [1, 16]) {
        const through: number[] = [];
        const direct: number[] = [];
        for (let round_ = 0; round_ < ROUNDS; round_ += 1) {
          through.push(await run(docker, client, 'http://api:8080/', concurrency));
          direct.push(await run(docker, client, `http://${ip}:8080/`, concurrency));
        }
        const paved = median(through);
        const baseline = median(direct);
        rows.push({
          'requests at a time': concurrency,
          requests: REQUESTS,
          'through the service address, ms': round(paved, 1),
          'straight to the instance, ms': round(baseline, 1),
          'per request, µs (address / direct)': `${round((paved * 1000) / REQUESTS, 0)} / ${round((baseline * 1000) / REQUESTS, 0)}`,
          ratio: `${round(paved / baseline, 2)}×`,
        });
      }
      return {
        title: 'Calls through a service address on the docker target (service-address-docker)',
        method: `A client container calls a trivial Node HTTP workload ${REQUESTS} times over fetch's kept-alive connections: by its name (its service address, which relays each request to the instance) and, as the baseline, at the instance's IP address in the network directly. ${ROUNDS} alternating rounds each; medians.`,
        rows,
      };
    } finally {
      await runtime.destroy(env);
      await runtime.close();
    }
  },
};
