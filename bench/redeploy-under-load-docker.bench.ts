/**
 * Redeploy under load on the docker target (issue 7): examples/shop runs through Paved on a
 * container engine while a steady stream of requests goes to its frontend through the gateway over
 * keep-alive connections; then all three workloads are deployed again with new code. Counted:
 * requests served and failed (the target is zero), and the latency of the requests that ran during
 * the switch against those of the same stream before it, in the same process.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { Benchmark, BenchReport } from './report.js';
import { round } from './report.js';
import {
  copyShop,
  createShopEnv,
  deployShop,
  engineHost,
  SHOP_SERVICES,
  shopAnswered,
  startShopServer,
  waitThroughGateway,
  type ShopServer,
} from './shop-compose.bench.js';

/** One request every this many ms (50 per second). */
const INTERVAL_MS = 20;
/** The steady phase measured before the redeploy. */
const BEFORE_MS = 10_000;
const REDEPLOYS = 2;

interface Sample {
  started: number;
  ms: number;
  ok: boolean;
  /** Why a failed request failed: the connection error, the status, or what the frontend said. */
  why?: string;
}

/** A steady stream of `GET /` to the frontend through the gateway, every outcome kept. */
class SteadyLoad {
  readonly samples: Sample[] = [];
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 8 });
  readonly #pending = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly port: number,
    private readonly host: string,
  ) {}

  start(): void {
    this.#timer = setInterval(() => this.#send(), INTERVAL_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([...this.#pending]);
    this.#agent.destroy();
  }

  #send(): void {
    const started = performance.now();
    const done = new Promise<void>((resolve) => {
      const finish = (ok: boolean, why?: string): void => {
        this.samples.push({
          started,
          ms: performance.now() - started,
          ok,
          ...(why === undefined ? {} : { why }),
        });
        resolve();
      };
      const request = httpRequest(
        {
          hostname: '127.0.0.1',
          port: this.port,
          path: '/',
          agent: this.#agent,
          headers: { accept: 'application/json', host: this.host },
        },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => {
            let answered = false;
            try {
              answered = response.statusCode === 200 && shopAnswered(JSON.parse(body));
            } catch {
              answered = false;
            }
            finish(
              answered,
              answered ? undefined : `HTTP ${response.statusCode ?? '?'}: ${body.slice(0, 300)}`,
            );
          });
          response.on('error', (error) => finish(false, error.message));
        },
      );
      request.on('error', (error) => finish(false, error.message));
      request.end();
    });
    this.#pending.add(done);
    void done.then(() => this.#pending.delete(done));
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function finished(shop: ShopServer, app: string, env: string, number: number): Promise<string> {
  for (;;) {
    const deployment = await shop.client.getDeployment(app, env, number);
    if (deployment.status === 'failed' || deployment.status === 'cancelled')
      throw new Error(
        `deployment ${number} of ${app}/${env} ${deployment.status}: ${deployment.error ?? ''}`,
      );
    if (deployment.status === 'succeeded') return deployment.status;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** From the first request's start to the last one's end. */
function elapsedSeconds(samples: Sample[]): number {
  if (samples.length === 0) return Number.NaN;
  const from = Math.min(...samples.map((sample) => sample.started));
  const to = Math.max(...samples.map((sample) => sample.started + sample.ms));
  return (to - from) / 1000;
}

function row(phase: string, samples: Sample[], seconds: number): Record<string, string | number> {
  const latencies = samples.filter((sample) => sample.ok).map((sample) => sample.ms);
  // The frontend answered, but its own call to catalog or orders (over the environment network,
  // not through the gateway) failed.
  const backend = samples.filter((sample) => !sample.ok && sample.why?.startsWith('HTTP 200') === true);
  return {
    phase,
    'requests served': latencies.length,
    failed: samples.length - latencies.length,
    'of which a backend call failed': backend.length,
    'requests/s': round(samples.length / seconds, 1),
    'p50, ms': round(percentile(latencies, 50), 1),
    'p99, ms': round(percentile(latencies, 99), 1),
  };
}

async function runBenchmark(): Promise<BenchReport> {
  const engine = engineHost();
  const shop = await startShopServer(engine);
  const dir = copyShop('paved-bench-redeploy-');
  const app = `redeploy-${randomBytes(3).toString('hex')}`;
  const env = 'dev';
  const rows: Record<string, string | number>[] = [];
  const notes: string[] = [];
  try {
    await shop.client.createApp({ name: app });
    await createShopEnv(shop.client, app, env);
    const first = await deployShop(shop.client, app, env, dir);
    await waitThroughGateway(shop, app, env, first, shopAnswered);
    const load = new SteadyLoad(
      Number(new URL(shop.server.gatewayUrl).port),
      `frontend-${env}-${app}.localhost`,
    );
    load.start();
    const windows: { from: number; to: number }[] = [];
    try {
      await new Promise((resolve) => setTimeout(resolve, BEFORE_MS));
      for (let redeploy = 1; redeploy <= REDEPLOYS; redeploy += 1) {
        // New code in every service: all three workloads get a new instance.
        for (const service of SHOP_SERVICES) {
          writeFileSync(join(dir, service, '.bench-nonce'), randomBytes(8).toString('hex'));
        }
        const from = performance.now();
        const number = await deployShop(shop.client, app, env, dir);
        await finished(shop, app, env, number);
        windows.push({ from, to: performance.now() });
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    } finally {
      await load.stop();
    }
    const firstSwitch = windows[0]?.from ?? Number.POSITIVE_INFINITY;
    const before = load.samples.filter((sample) => sample.started < firstSwitch);
    const during = load.samples.filter((sample) =>
      windows.some((window) => sample.started >= window.from && sample.started <= window.to),
    );
    const seconds = windows.reduce((sum, window) => sum + (window.to - window.from) / 1000, 0);
    const beforeRow = row('before (steady)', before, elapsedSeconds(before));
    const duringRow = row(`during ${REDEPLOYS} redeploys (submit → succeeded)`, during, seconds);
    rows.push(beforeRow, duringRow, row('whole run', load.samples, elapsedSeconds(load.samples)));
    const ratio = Number(duringRow['p99, ms']) / Number(beforeRow['p99, ms']);
    const failures = load.samples.filter((sample) => !sample.ok);
    notes.push(
      `p99 during the switch / p99 before: ${round(ratio, 2)}×. Failed requests: ${failures.length} (target 0).`,
    );
    for (const why of new Set(failures.map((sample) => sample.why ?? '?'))) notes.push(`Failed: \`${why}\``);
  } finally {
    await shop.client
      .deleteEnv(app, env, { deleteData: true })
      .catch((error: unknown) => console.error(error));
    await shop.client.deleteApp(app).catch((error: unknown) => console.error(error));
    await shop.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    title: 'Redeploy under load on the docker target (redeploy-under-load-docker)',
    method: `examples/shop deployed through an in-process server's built-in docker target (${engine}). A request every ${INTERVAL_MS} ms goes to the frontend through the gateway over keep-alive connections (each request fans out to catalog and orders); after ${BEFORE_MS / 1000} s of steady load, all three workloads are deployed again with new code, ${REDEPLOYS} times. A request counts as served when it answers 200 with both backends' data. "During" holds the requests started between submitting a redeploy and its success (image builds, new instances, readiness, switch, drain, stop).`,
    rows,
    notes,
  };
}

export const benchmark: Benchmark = { name: 'redeploy-under-load-docker', run: runBenchmark };
