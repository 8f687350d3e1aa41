/**
 * Deploying N trivial workloads to the process target through Paved (API, worker, supervisors,
 * forwarders, readiness) against spawning the same Node processes directly and waiting for their
 * ports, in the same run; and edit-to-serving: change one line of a workload behind a route,
 * deploy, and time until the gateway answers with the change.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PavedClient, packContext } from '@paved/client';
import { startServer } from '@paved/server';
import type { Benchmark, BenchReport } from './report.js';
import { round } from './report.js';

const SERVER_JS = `import { createServer } from 'node:http';
const port = Number(process.env.PORT ?? 8080);
const version = 'v1';
createServer((request, response) => response.end(version)).listen(port);
process.on('SIGTERM', () => process.exit(0));
`;

function score(name: string, route: boolean): string {
  const lines = [
    'apiVersion: score.dev/v1b1',
    `metadata: { name: ${name} }`,
    'service: { ports: { web: { port: 8080 } } }',
    'containers:',
    '  main: { image: ".", command: ["node", "server.js"] }',
  ];
  if (route) {
    lines.push(
      'resources:',
      '  dns: { type: dns }',
      '  route: { type: route, params: { host: "${resources.dns.host}", path: /, port: 8080 } }',
    );
  }
  return `${lines.join('\n')}\n`;
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

async function waitForPort(port: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The baseline: what a shell script would do — spawn N processes and wait for their ports. */
async function spawnDirectly(dir: string, count: number): Promise<number> {
  const children: ChildProcess[] = [];
  const start = performance.now();
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  for (const port of ports) {
    children.push(
      spawn(process.execPath, ['server.js'], { cwd: dir, env: { PORT: String(port) }, stdio: 'ignore' }),
    );
  }
  await Promise.all(ports.map((port) => waitForPort(port)));
  const ms = performance.now() - start;
  await Promise.all(
    children.map((child) => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM')))),
  );
  return ms;
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
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function getThroughGateway(gatewayUrl: string, host: string): Promise<string> {
  const { hostname, port } = new URL(gatewayUrl);
  return new Promise((resolve) => {
    const request = httpRequest({ hostname, port, path: '/', headers: { host } }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(response.statusCode === 200 ? body : ''));
    });
    request.on('error', () => resolve(''));
    request.end();
  });
}

async function run(): Promise<BenchReport> {
  const dataDir = mkdtempSync(join(tmpdir(), 'paved-bench-data-'));
  const contextDir = mkdtempSync(join(tmpdir(), 'paved-bench-context-'));
  writeFileSync(join(contextDir, 'server.js'), SERVER_JS);
  const server = await startServer({ dataDir, port: 0, gatewayPort: 0, logLevel: 'warn' });
  const { token } = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { token: string };
  const client = new PavedClient({ url: server.url, token });
  const rows: Record<string, string | number>[] = [];
  const app = 'bench';
  try {
    await client.createApp({ name: app });
    const context = await packContext(contextDir);
    await client.uploadContext(app, context.hash, context.gzip);

    for (const count of [1, 10, 50]) {
      const env = `n${count}`;
      await client.createEnv(app, { name: env, type: 'development' });
      const workloads = Array.from({ length: count }, (_, i) => ({
        file: `w${i}/score.yaml`,
        score: score(`w${i}`, false),
        contexts: { main: context.hash },
      }));
      const start = performance.now();
      const deployment = await client.deploy(app, env, { workloads });
      await waitForDeployment(client, app, env, deployment.number);
      const pavedMs = performance.now() - start;
      await client.deleteEnv(app, env);
      const directMs = await spawnDirectly(contextDir, count);
      rows.push({
        workloads: count,
        'Paved deploy, ms': round(pavedMs, 0),
        'direct spawn + ports, ms': round(directMs, 0),
        ratio: `${round(pavedMs / directMs, 2)}×`,
      });
    }

    // Edit-to-serving: v1 behind a route, then change one line and time until v2 answers.
    const env = 'edit';
    await client.createEnv(app, { name: env, type: 'development' });
    const first = await client.deploy(app, env, {
      workloads: [{ file: 'web/score.yaml', score: score('web', true), contexts: { main: context.hash } }],
    });
    await waitForDeployment(client, app, env, first.number);
    const host = `web-${env}-${app}.localhost`;
    const editStart = performance.now();
    writeFileSync(join(contextDir, 'server.js'), SERVER_JS.replace("'v1'", "'v2'"));
    const edited = await packContext(contextDir);
    if (!(await client.hasContext(app, edited.hash)))
      await client.uploadContext(app, edited.hash, edited.gzip);
    await client.deploy(app, env, {
      workloads: [{ file: 'web/score.yaml', score: score('web', true), contexts: { main: edited.hash } }],
    });
    while ((await getThroughGateway(server.gatewayUrl, host)) !== 'v2') {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const editMs = performance.now() - editStart;
    await client.deleteEnv(app, env);
    rows.push({ workloads: 'edit-to-serving (1, behind a route)', 'Paved deploy, ms': round(editMs, 0) });
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(contextDir, { recursive: true, force: true });
  }
  return {
    title: 'Deploy to the process target (deploy-process)',
    method:
      'An in-process server on a fresh SQLite data directory deploys N trivial Node HTTP workloads (no probe: ready when the port accepts) to a new environment; timed from the API call to `succeeded`. Baseline: spawning the same N processes directly with a free PORT each and waiting until every port accepts, in the same run. Edit-to-serving: change one line, pack and upload the context, deploy, and poll the gateway until the new text answers (target under 10 s).',
    rows,
    notes: ['Targets: ratio ≤ 1.3× (issue 3); edit-to-serving under 10 s.'],
  };
}

export const benchmark: Benchmark = { name: 'deploy-process', run };
