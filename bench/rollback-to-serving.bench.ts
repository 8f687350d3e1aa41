/**
 * Rollback to serving (issue 6): from `paved rollback` (the API call) to the old version answering
 * on its route through the gateway, against a plain redeploy of the same set (the same Score
 * file and context, submitted as an ordinary deploy) timed the same way in the same run.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PavedClient, packContext } from '@paved/client';
import { startServer } from '@paved/server';
import type { Benchmark, BenchReport } from './report.js';
import { round } from './report.js';

const ROUNDS = 5;

const serverCode = (version: string): string => `import { createServer } from 'node:http';
createServer((request, response) => response.end('${version}')).listen(Number(process.env.PORT ?? 8080));
process.on('SIGTERM', () => process.exit(0));
`;

const SCORE = `apiVersion: score.dev/v1b1
metadata: { name: web }
service: { ports: { web: { port: 8080 } } }
containers:
  main: { image: ".", command: ["node", "server.js"] }
resources:
  dns: { type: dns }
  route: { type: route, params: { host: "\${resources.dns.host}", path: /, port: 8080 } }
`;

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

async function servedAfter(start: () => Promise<unknown>, gatewayUrl: string, host: string, text: string) {
  const begin = performance.now();
  await start();
  while ((await getThroughGateway(gatewayUrl, host)) !== text) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - begin;
}

async function finished(client: PavedClient, app: string, env: string, number: number): Promise<void> {
  for (;;) {
    const deployment = await client.getDeployment(app, env, number);
    if (deployment.status === 'succeeded') return;
    if (deployment.status === 'failed' || deployment.status === 'cancelled') {
      throw new Error(`deployment ${app}/${env}#${number} ${deployment.status}: ${deployment.error ?? ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function run(): Promise<BenchReport> {
  const dataDir = mkdtempSync(join(tmpdir(), 'paved-bench-data-'));
  const contextDir = mkdtempSync(join(tmpdir(), 'paved-bench-context-'));
  const server = await startServer({ dataDir, port: 0, gatewayPort: 0, logLevel: 'warn' });
  const { token } = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { token: string };
  const client = new PavedClient({ url: server.url, token });
  const app = 'bench';
  const env = 'rollback';
  const host = `web-${env}-${app}.localhost`;
  const rollbacks: number[] = [];
  const redeploys: number[] = [];
  try {
    await client.createApp({ name: app });
    await client.createEnv(app, { name: env, type: 'development' });
    const contexts: Record<string, string> = {};
    for (const version of ['v1', 'v2']) {
      writeFileSync(join(contextDir, 'server.js'), serverCode(version));
      const packed = await packContext(contextDir);
      await client.uploadContext(app, packed.hash, packed.gzip);
      contexts[version] = packed.hash;
    }
    const deploy = async (version: string) =>
      client.deploy(app, env, {
        workloads: [{ file: 'web/score.yaml', score: SCORE, contexts: { main: contexts[version]! } }],
      });
    const deployAndWait = async (version: string) => {
      const created = await deploy(version);
      await finished(client, app, env, created.number);
      return created.number;
    };

    const v1 = await deployAndWait('v1');
    for (let round = 0; round < ROUNDS; round += 1) {
      await deployAndWait('v2');
      rollbacks.push(await servedAfter(() => client.rollback(app, env, v1), server.gatewayUrl, host, 'v1'));
      await deployAndWait('v2');
      redeploys.push(await servedAfter(() => deploy('v1'), server.gatewayUrl, host, 'v1'));
    }
    // Let the last deployment finish before the environment goes.
    const [latest] = await client.listDeployments(app, env);
    if (latest !== undefined) await finished(client, app, env, latest.number);
    await client.deleteEnv(app, env);
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(contextDir, { recursive: true, force: true });
  }
  const rollbackMs = median(rollbacks);
  const redeployMs = median(redeploys);
  return {
    title: 'Rollback to serving (rollback-to-serving)',
    method: `An in-process server (SQLite, process target) runs one Node HTTP workload behind a route. Each of ${ROUNDS} rounds deploys v2, then times from the rollback API call (to deployment 1, v1) until the gateway answers "v1"; then deploys v2 again and times a plain deploy of v1's same Score file and context until "v1" answers. Medians; the ratio is rollback / plain redeploy.`,
    rows: [
      {
        'rollback to serving, ms': round(rollbackMs, 0),
        'plain redeploy to serving, ms': round(redeployMs, 0),
        ratio: `${round(rollbackMs / redeployMs, 2)}×`,
      },
    ],
    notes: [
      'A rollback does what a deploy does plus restoring two values scopes and reading the stored set; expected ≈ 1×.',
    ],
  };
}

export const benchmark: Benchmark = { name: 'rollback-to-serving', run };
