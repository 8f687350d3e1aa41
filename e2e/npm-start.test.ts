// The README's first command, as a newcomer runs it after `npm ci`: `npm start` starts the server,
// deploys examples/shop and prints the URL where the shop answers. The test runs the same script
// (with free ports and a data directory of its own), calls that URL through the gateway, then
// deletes the environment and stops everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT, assertBuilt, isolatedEnv, runPaved } from './helpers/paved-cli.js';

let home: string;
let start: ChildProcess | undefined;

afterAll(async () => {
  start?.kill('SIGTERM');
  if (home !== undefined) await rm(home, { recursive: true, force: true });
});

function get(gateway: URL, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { hostname: gateway.hostname, port: gateway.port, path: '/', headers: { host } },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

/** Processes whose working directory starts with `prefix`: workloads that outlived their environment. */
function processesUnder(prefix: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(prefix)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked, or is not ours to inspect
    }
  }
  return pids;
}

it('npm start deploys examples/shop and prints a URL that answers', async () => {
  assertBuilt();
  home = await mkdtemp(join(tmpdir(), 'paved-npm-start-'));
  const dataDir = join(home, 'data');
  const env = isolatedEnv(home, { PAVED_DATA_DIR: dataDir });
  start = spawn(process.execPath, ['scripts/start.mjs', '--port', '0', '--gateway-port', '0'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  start.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  start.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));

  const deadline = Date.now() + 120_000;
  let answers: RegExpExecArray | null = null;
  while (answers === null && Date.now() < deadline && start.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    answers = /Paved is up at (\S+); the shop answers at (\S+)/.exec(output);
  }
  expect(answers, output).not.toBeNull();
  const [, apiUrl, shopUrl] = answers!;
  const gateway = new URL(/Gateway on (\S+)/.exec(output)![1]!);

  const shop = new URL(shopUrl!);
  expect(shop.port).toBe(gateway.port);
  const answer = await get(gateway, shop.host);
  expect(answer.status).toBe(200);
  const body = JSON.parse(answer.body) as { catalog: { products: unknown[] }; orders: { currency: string } };
  expect(body.catalog.products.length).toBeGreaterThan(0);
  expect(body.orders.currency).toBe('EUR');

  // This server's workloads run under /tmp/paved-<first 12 hex of sha256(data dir)>/work.
  const workDir = join(tmpdir(), `paved-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`);
  expect(processesUnder(workDir).length).toBeGreaterThanOrEqual(3);

  const deleted = await runPaved(['--url', apiUrl!, 'envs', 'delete', 'shop', 'dev'], { env });
  expect(deleted.code, deleted.stderr).toBe(0);
  start.kill('SIGTERM');
  await new Promise((resolve) => start!.once('exit', resolve));
  expect(processesUnder(workDir)).toEqual([]);
});
