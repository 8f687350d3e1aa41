/**
 * The price of the gateway's hop: a client process calls a trivial Node HTTP workload (a process
 * of its own) through Paved's gateway — the route read from a real SQLite store, as `paved server`
 * serves it — and, as the baseline in the same run, on the workload's port directly. Both over
 * kept-alive client connections, sequentially (latency) and 16 at a time (throughput), in
 * alternating rounds; medians.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '@paved/store';
import { Gateway } from '../packages/server/src/gateway/gateway.js';
import { createLogger } from '../packages/server/src/observability/logger.js';
import type { Benchmark, BenchReport } from './report.js';
import { round } from './report.js';

const ROUNDS = 4;
const REQUESTS = 2000;
const HOST = 'web-bench-hop.localhost';

const UPSTREAM = `
const server = require('node:http').createServer((q, s) => s.end('ok'));
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

/** `node -e CLIENT <port> <requests> <concurrency> <host>`: prints the milliseconds taken. */
const CLIENT = `
const http = require('node:http');
const [port, total, concurrency, host] = [Number(process.argv[1]), Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const get = () => new Promise((resolve, reject) => {
  const request = http.request({ host: '127.0.0.1', port, path: '/', agent, headers: { host } }, (answer) => {
    let body = '';
    answer.on('data', (chunk) => (body += chunk));
    answer.on('end', () => (body === 'ok' ? resolve() : reject(new Error('unexpected answer: ' + body))));
  });
  request.on('error', reject);
  request.end();
});
let next = 0;
async function worker() {
  while (next < total) {
    next += 1;
    await get();
  }
}
(async () => {
  await get();
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  console.log(performance.now() - started);
  agent.destroy();
})().catch((error) => { console.error(error); process.exit(1); });
`;

/** Runs `node -e script args…` and answers its first line of output. */
function firstLine(script: string, args: string[], keep?: (child: ChildProcess) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    keep?.(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const newline = output.indexOf('\n');
      if (newline >= 0) resolve(output.slice(0, newline));
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (!output.includes('\n')) reject(new Error(`node -e exited with ${code} before printing`));
    });
  });
}

async function timed(port: number, concurrency: number): Promise<number> {
  return Number(await firstLine(CLIENT, [String(port), String(REQUESTS), String(concurrency), HOST]));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export const benchmark: Benchmark = {
  name: 'gateway-hop',
  async run(): Promise<BenchReport> {
    const dataDir = await mkdtemp(join(tmpdir(), 'paved-bench-gateway-'));
    const store = await openStore({ dataDir });
    const gateway = new Gateway({ store, logger: createLogger({ level: 'silent' }) });
    let upstream: ChildProcess | undefined;
    try {
      const upstreamPort = Number(await firstLine(UPSTREAM, [], (child) => (upstream = child)));
      await store.apps.create({ name: 'bench', createdBy: 'bench' });
      await store.environments.create({
        app: 'bench',
        name: 'hop',
        type: 'development',
        target: 'process',
        createdBy: 'bench',
      });
      await store.routes.replace('bench', 'hop', [
        { workload: 'web', host: HOST, path: '/', upstream: `127.0.0.1:${upstreamPort}` },
      ]);
      const gatewayPort = await gateway.listen('127.0.0.1', 0);
      const rows: BenchReport['rows'] = [];
      for (const concurrency of [1, 16]) {
        const through: number[] = [];
        const direct: number[] = [];
        for (let index = 0; index < ROUNDS; index += 1) {
          // Alternating which goes first, so neither always runs on a warmer machine.
          if (index % 2 === 0) {
            through.push(await timed(gatewayPort, concurrency));
            direct.push(await timed(upstreamPort, concurrency));
          } else {
            direct.push(await timed(upstreamPort, concurrency));
            through.push(await timed(gatewayPort, concurrency));
          }
        }
        const paved = median(through);
        const baseline = median(direct);
        rows.push({
          'requests at a time': concurrency,
          requests: REQUESTS,
          'through the gateway, ms': round(paved, 1),
          'straight to the workload, ms': round(baseline, 1),
          'per request, µs (gateway / direct)': `${Math.round((paved * 1000) / REQUESTS)} / ${Math.round((baseline * 1000) / REQUESTS)}`,
          ratio: `${round(paved / baseline)}×`,
        });
      }
      return {
        title: "The gateway's hop (gateway-hop)",
        method: `A client process calls a trivial Node HTTP workload ${REQUESTS} times over kept-alive connections: through Paved's gateway (its route read from a SQLite store) and, as the baseline, on the workload's port directly. ${ROUNDS} alternating rounds each; medians.`,
        rows,
      };
    } finally {
      await gateway.close();
      await store.close();
      upstream?.kill();
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
