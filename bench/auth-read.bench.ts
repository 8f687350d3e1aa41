/**
 * What access control costs a read: `GET /api/v1/apps/{app}/envs` through the server's pipeline
 * with a valid token (authentication by hash on every request, the caller's teams and grants, the
 * app's scope, the policy) against the same route mounted through the same pipeline without
 * authorisation (declared public: validation, logs and metrics stay), and, for scale, the bare
 * handler in a plain Hono app; same store, same process, same run. Throughput is requests per
 * second over sequential in-process requests (`app.request`), the median of several rounds taken
 * in turns.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { openStore } from '../packages/store/src/index.js';
import { generateToken, hashToken } from '../packages/server/src/auth/tokens.js';
import { createServer } from '../packages/server/src/create-server.js';
import type { PavedHonoEnv } from '../packages/server/src/http/hono-env.js';
import { DEFAULT_BODY_LIMIT_BYTES } from '../packages/server/src/http/read-body.js';
import { requestObserver } from '../packages/server/src/http/request-observer.js';
import { routeHandler } from '../packages/server/src/http/route-handler.js';
import { HttpMetrics } from '../packages/server/src/observability/http-metrics.js';
import { createLogger } from '../packages/server/src/observability/logger.js';
import { toHonoPath } from '../packages/server/src/routes/route.js';
import type { Benchmark, BenchReport } from './report.js';
import { round } from './report.js';

const ENVIRONMENTS = 10;
const REQUESTS_PER_ROUND = 2_000;
const ROUNDS = 7;
const TARGET_RATIO = 0.9;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function throughput(send: () => Promise<Response>, count: number): Promise<number> {
  const start = performance.now();
  for (let index = 0; index < count; index += 1) {
    const response = await send();
    if (response.status !== 200)
      throw new Error(`the benchmark request answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer();
  }
  return (count / (performance.now() - start)) * 1000;
}

export const benchmark: Benchmark = {
  name: 'auth-read',
  async run(): Promise<BenchReport> {
    const dataDir = mkdtempSync(join(tmpdir(), 'paved-bench-auth-'));
    const store = await openStore({ dataDir });
    try {
      // A developer of app shop, in a team, reading the app's environments: the usual caller.
      const principal = await store.principals.create({ id: randomUUID(), kind: 'user', name: 'dev' });
      await store.grants.grant({ subject: principal.id, role: 'member', scope: { kind: 'org' } });
      await store.teams.create({ name: 'web', createdBy: 'bench' });
      await store.teams.addMember('web', principal.id);
      await store.grants.grant({
        subject: principal.id,
        role: 'developer',
        scope: { kind: 'app', app: 'shop' },
      });
      const token = generateToken();
      await store.tokens.create({
        id: randomUUID(),
        principalId: principal.id,
        name: 'bench',
        hash: hashToken(token),
      });
      await store.apps.create({ name: 'shop', team: 'web', createdBy: 'bench' });
      for (let index = 0; index < ENVIRONMENTS; index += 1) {
        await store.environments.create({
          app: 'shop',
          name: `env-${index}`,
          type: 'development',
          target: 'process',
          createdBy: 'bench',
        });
      }

      const logger = createLogger({ level: 'silent' });
      const server = createServer({ store, masterKey: randomBytes(32), logger });
      const route = server.registry.routes.find(
        (candidate) => candidate.method === 'GET' && candidate.path === '/api/v1/apps/{app}/envs',
      );
      if (route?.params === undefined || route.query === undefined)
        throw new Error('no GET /api/v1/apps/{app}/envs route');
      const { params: paramsSchema, query: querySchema } = route;
      // The same handler, validated the same way, without authentication or authorisation.
      const bare = new Hono();
      bare.get('/api/v1/apps/:app/envs', async (c) => {
        const result = await route.handler({
          params: paramsSchema.parse(c.req.param()),
          query: querySchema.parse(c.req.query()),
          body: undefined,
          principal: undefined,
          requestId: 'bench',
          server: server.context,
          request: c.req.raw,
          audit: { details: {} },
          remoteAddress: undefined,
        });
        return c.json(result as object);
      });

      // The same route through the same pipeline, declared public: everything but access control.
      const open = new Hono<PavedHonoEnv>();
      open.use('*', requestObserver(logger, new HttpMetrics()));
      open.on(
        route.method,
        toHonoPath(route.path),
        routeHandler({ ...route, permission: 'public' }, server.context, DEFAULT_BODY_LIMIT_BYTES),
      );

      const path = '/api/v1/apps/shop/envs';
      const headers = { authorization: `Bearer ${token}` };
      const withAuth = () => Promise.resolve(server.app.request(path, { headers }));
      const withoutAuth = () => Promise.resolve(open.request(path));
      const bareHandler = () => Promise.resolve(bare.request(path));
      // Warm-up: JIT, statement caches, the first lastUsedAt write.
      await throughput(withAuth, 500);
      await throughput(withoutAuth, 500);
      await throughput(bareHandler, 500);

      const authed: number[] = [];
      const baseline: number[] = [];
      const bareRuns: number[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        baseline.push(await throughput(withoutAuth, REQUESTS_PER_ROUND));
        authed.push(await throughput(withAuth, REQUESTS_PER_ROUND));
        bareRuns.push(await throughput(bareHandler, REQUESTS_PER_ROUND));
      }
      const ratio = median(authed) / median(baseline);
      return {
        title: 'Access control on a read (`auth-read`)',
        method: `GET /api/v1/apps/shop/envs (${ENVIRONMENTS} environments) on SQLite, ${REQUESTS_PER_ROUND} sequential in-process requests per round, median of ${ROUNDS} rounds taken in turns: through the pipeline with a developer's token (member of the owning team, developer on the app), against the same route through the same pipeline declared public (the baseline: validation, logs and metrics, no access control), and the bare handler in a plain Hono app.`,
        rows: [
          {
            what: 'same route, pipeline without authorisation (baseline)',
            'requests/s': round(median(baseline), 0),
          },
          { what: 'same route, pipeline with a valid token', 'requests/s': round(median(authed), 0) },
          { what: 'bare handler, no pipeline (for scale)', 'requests/s': round(median(bareRuns), 0) },
        ],
        notes: [
          `Ratio with / without authorisation: **${round(ratio, 2)}** (target ≥ ${TARGET_RATIO}).`,
          `Ratio with authorisation / bare handler: ${round(median(authed) / median(bareRuns), 2)}.`,
        ],
      };
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
