// The daily path end to end, as a user runs it: the built `paved` CLI against a real server it
// started, deploying examples/shop (three Node services on the process target) and calling the
// shop through the gateway; then a crash and its recovery, a cancelled queued deployment, a plan,
// the logs, and a clean teardown that leaves no workload process behind.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, isolatedEnv, runPaved, startPavedServer } from './helpers/paved-cli.js';
import type { PavedRun, PavedServerProcess } from './helpers/paved-cli.js';

const SHOP_FILES = ['catalog', 'frontend', 'orders'].map((name) => `examples/shop/${name}/score.yaml`);

let root: string;
let dataDir: string;
let server: PavedServerProcess;
let gatewayUrl: string;
let env: NodeJS.ProcessEnv;

interface WorkloadStatus {
  name: string;
  state: string;
  ready: boolean;
  endpoints: string[];
  containers: Array<{ name: string; restarts: number }>;
}

interface Deployment {
  number: number;
  status: string;
}

function paved(...args: string[]): Promise<PavedRun> {
  return runPaved(args, { env });
}

/** Runs a command that must succeed, showing its output when it does not. */
async function ok(...args: string[]): Promise<PavedRun> {
  const run = await paved(...args);
  expect(run.code, `paved ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

async function workloads(): Promise<WorkloadStatus[]> {
  const run = await ok('status', 'shop', 'dev', '-o', 'json');
  return (JSON.parse(run.stdout) as { workloads: WorkloadStatus[] }).workloads;
}

/**
 * GET through the gateway: `*.localhost` does not resolve in Node, so connect to the gateway's
 * own address and name the route's host in the `Host` header, as a browser would send it.
 */
function callRoute(endpoint: string): Promise<{ status: number; body: string }> {
  const target = new URL(endpoint);
  const gateway = new URL(gatewayUrl);
  return new Promise((done, fail) => {
    const request = httpRequest(
      {
        host: gateway.hostname,
        port: gateway.port,
        path: `${target.pathname}${target.search}`,
        headers: { host: target.host, accept: 'application/json' },
        timeout: 10_000,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => done({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`GET ${endpoint} via ${gatewayUrl} timed out`)));
    request.on('error', fail);
    request.end();
  });
}

/** The shop's answer, once it includes both backends' answers. */
async function shopAnswer(
  endpoint: string,
): Promise<{ catalog: { products: unknown[] }; orders: { currency: string } }> {
  const answer = await callRoute(endpoint);
  expect(answer.status, answer.body).toBe(200);
  return JSON.parse(answer.body) as { catalog: { products: unknown[] }; orders: { currency: string } };
}

/** Processes whose working directory is the copy of a shop workload's context (`…/<container>/app`). */
function workloadProcesses(workload = '[^/]+'): number[] {
  const pattern = new RegExp(`/shop/dev/workloads/${workload}/[^/]+/[^/]+/app$`);
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (/\) [ZX] /.test(readFileSync(`/proc/${entry}/stat`, 'utf8'))) continue;
      if (pattern.test(readlinkSync(`/proc/${entry}/cwd`))) pids.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

/** Processes whose command line names a path under `dir`: supervisors, forwarders, the server. */
function processesMentioning(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (/\) [ZX] /.test(readFileSync(`/proc/${entry}/stat`, 'utf8'))) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

beforeAll(async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), 'paved-e2e-shop-'));
  dataDir = join(root, 'data');
  await mkdir(join(root, 'home'));
  const base = isolatedEnv(join(root, 'home'));
  server = await startPavedServer(['--port', '0', '--gateway-port', '0', '--data-dir', dataDir], {
    env: base,
  });
  // `paved server` prints its address and the gateway's in one write.
  const gateway = /^Gateway on (\S+)$/m.exec(server.output())?.[1];
  if (gateway === undefined)
    throw new Error(`paved server did not print "Gateway on <url>":\n${server.output()}`);
  gatewayUrl = gateway;
  env = { ...base, PAVED_URL: server.url, PAVED_DATA_DIR: dataDir };
});

afterAll(async () => {
  // If a test failed half-way, the environment's processes must not outlive the run.
  if (server !== undefined) {
    await paved('envs', 'delete', 'shop', 'dev').catch(() => undefined);
    await server.stop();
  }
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('deploying examples/shop', () => {
  it('creates the app and environment and sets the currency', async () => {
    await ok('apps', 'create', 'shop');
    await ok('envs', 'create', 'shop', 'dev', '--type', 'development');
    await ok('values', 'set', 'shop', 'dev', 'CURRENCY=EUR');
  });

  it('deploys the three services with --wait, showing the steps as plain lines', async () => {
    const run = await ok('deploy', 'shop', 'dev', ...SHOP_FILES, '--message', 'first', '--wait');
    expect(run.stderr).toMatch(/Uploaded the context of catalog \(examples\/shop\/catalog, .*sha256:/);
    expect(run.stderr).toContain('Following Deployment 1 of shop/dev…');
    expect(run.stderr).toMatch(/Deployment 1 of shop\/dev succeeded in [\d.]+s\./);
    // Plain lines: a child's stderr is a pipe, never a terminal.
    expect(run.stderr).not.toContain('\u001b[');
  });

  it('reports three ready workloads, the frontend with its endpoint', async () => {
    const status = await workloads();
    expect(status.map((workload) => [workload.name, workload.state, workload.ready]).sort()).toEqual([
      ['catalog', 'ready', true],
      ['frontend', 'ready', true],
      ['orders', 'ready', true],
    ]);
    const frontend = status.find((workload) => workload.name === 'frontend')!;
    expect(frontend.endpoints[0]).toMatch(/^http:\/\/frontend-dev-shop\.localhost(:\d+)?\//);
    const table = await ok('status', 'shop', 'dev');
    expect(table.stdout).toMatch(/^frontend\s+ready\s+yes\s+0\s+http:\/\/frontend-dev-shop\.localhost/m);
  });

  it('answers on the route with both backends’ answers', async () => {
    const [endpoint] = (await workloads()).find((workload) => workload.name === 'frontend')!.endpoints;
    const shop = await shopAnswer(endpoint!);
    expect(shop).toMatchObject({
      catalog: { service: 'catalog' },
      orders: { service: 'orders', currency: 'EUR' },
    });
    expect(shop.catalog.products.length).toBeGreaterThan(0);
  });

  it('brings a killed workload process back, counting the restart', async () => {
    const [pid] = workloadProcesses('catalog');
    expect(pid, 'the catalog process, found by its working directory').toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await expect
      .poll(
        async () => {
          const catalog = (await workloads()).find((workload) => workload.name === 'catalog')!;
          return {
            ready: catalog.ready,
            restarted: catalog.containers.some((container) => container.restarts >= 1),
          };
        },
        { timeout: 30_000, interval: 500 },
      )
      .toEqual({ ready: true, restarted: true });
    expect(workloadProcesses('catalog')).not.toContain(pid);
    const [endpoint] = (await workloads()).find((workload) => workload.name === 'frontend')!.endpoints;
    await expect
      .poll(async () => (await shopAnswer(endpoint!)).catalog.products?.length, { timeout: 10_000 })
      .toBeGreaterThan(0);
  });

  it('cancels a deployment while it is queued behind another', async () => {
    // The first deployment adds a workload that becomes ready only after a few seconds, so the
    // second one, sent right after, is sure to wait in the queue however slow the machine is.
    const slow = join(root, 'slow');
    await mkdir(slow);
    await writeFile(
      join(slow, 'score.yaml'),
      [
        'apiVersion: score.dev/v1b1',
        'metadata:',
        '  name: slow',
        'containers:',
        '  main:',
        '    image: .',
        "    command: ['sh', '-c', 'sleep 4; touch ready; exec sleep 600']",
        '    readinessProbe:',
        '      exec:',
        "        command: ['test', '-f', 'ready']",
        '',
      ].join('\n'),
    );
    // A changed value also restarts orders: the route must then report the new currency.
    await ok('values', 'set', 'shop', 'dev', 'CURRENCY=USD');
    const first = JSON.parse(
      (await ok('deploy', 'shop', 'dev', ...SHOP_FILES, join(slow, 'score.yaml'), '-m', 'usd', '-o', 'json'))
        .stdout,
    ) as Deployment;
    const second = JSON.parse(
      (await ok('deploy', 'shop', 'dev', ...SHOP_FILES, '-m', 'again', '-o', 'json')).stdout,
    ) as Deployment;
    expect(second.number).toBe(first.number + 1);
    const cancel = await ok('deployments', 'cancel', 'shop', 'dev', String(second.number), '-o', 'json');
    const answer = JSON.parse(cancel.stdout) as Deployment & { startedAt?: string };
    // Never started: it was cancelled in the queue, not stopped while running.
    expect(answer).toMatchObject({ status: 'cancelled' });
    expect(answer.startedAt).toBeUndefined();

    const followed = await paved('deployments', 'get', 'shop', 'dev', String(first.number), '--wait');
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toMatch(/^Status:\s+succeeded$/m);
    const cancelled = await paved('deployments', 'get', 'shop', 'dev', String(second.number), '--wait');
    expect(cancelled.code).toBe(5);
    expect(cancelled.stderr).toContain(`Deployment ${second.number} of shop/dev was cancelled`);

    const [endpoint] = (await workloads()).find((workload) => workload.name === 'frontend')!.endpoints;
    expect((await shopAnswer(endpoint!)).orders.currency).toBe('USD');
  });

  it('lists the deployments, numbered, newest first', async () => {
    const list = JSON.parse(
      (await ok('deployments', 'list', 'shop', 'dev', '-o', 'json')).stdout,
    ) as Deployment[];
    expect(list.map((deployment) => [deployment.number, deployment.status])).toEqual([
      [3, 'cancelled'],
      [2, 'succeeded'],
      [1, 'succeeded'],
    ]);
    const table = await ok('deployments', 'list', 'shop', 'dev');
    expect(table.stdout).toMatch(/^NUMBER\s+STATUS/);
  });

  it('prints a plan with --plan and changes nothing', async () => {
    const run = await ok('deploy', 'shop', 'dev', ...SHOP_FILES, '--plan');
    expect(run.stdout).toContain('Plan for shop/dev (nothing has been changed):');
    expect(run.stdout).toMatch(/= catalog\s+unchanged/);
    expect(run.stdout).toMatch(/^Summary: /m);
    const list = JSON.parse(
      (await ok('deployments', 'list', 'shop', 'dev', '-o', 'json')).stdout,
    ) as Deployment[];
    expect(list).toHaveLength(3);
  });

  it('shows the frontend’s startup line in its logs', async () => {
    const run = await ok('logs', 'shop', 'dev', 'frontend');
    expect(run.stdout).toMatch(/frontend listening on \d+/);
  });

  it('deletes the environment and leaves no workload process behind', async () => {
    expect(workloadProcesses().length).toBeGreaterThan(0);
    await ok('envs', 'delete', 'shop', 'dev');
    await expect.poll(() => workloadProcesses(), { timeout: 15_000 }).toEqual([]);
    expect(await server.stop()).toBe(0);
    expect(workloadProcesses()).toEqual([]);
    await expect.poll(() => processesMentioning(root), { timeout: 15_000 }).toEqual([]);
  });
});
