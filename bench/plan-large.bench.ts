/**
 * The plan of issue 5: 1,000 workloads × 3 resources matched against 50 resource definitions,
 * with shared resources and a dependency between resources, through request → match → graph →
 * provision (plan only) → render → plan. Time is the median of in-process runs after a warm-up;
 * peak memory is measured in a fresh child process (its whole peak RSS, Node and the generated
 * input included), where nothing else this run did can inflate or hide it. Reported, never
 * asserted.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  buildResourceGraph,
  planDeployment,
  provisionGraph,
  renderWorkloads,
  requestResources,
  resolveDefinitions,
  workloadOutputs,
  type Criteria,
  type ProvisionContext,
  type ResourceDefinition,
  type ScoreWorkload,
} from '../packages/core/src/index.js';
import { createEchoDriver } from '../packages/drivers/src/echo/echo-driver.js';
import { round, type Benchmark } from './report.js';

const WORKLOADS = 1_000;
const RUNS = 5;
const TARGET_MS = 1_000;
const TARGET_MB = 300;
/** Set in the child process that measures peak memory. */
const CHILD_FLAG = 'PAVED_BENCH_PLAN_LARGE_CHILD';

/**
 * Every workload has a database, a cache and a queue. Every fourth shares one of 15 databases;
 * every queue is one of 10 shared ones; caches are private, half of class `large`, and depend on
 * their workload's database through a placeholder in their params.
 */
function generateApp(count: number): ScoreWorkload[] {
  return Array.from({ length: count }, (_, i): ScoreWorkload => {
    const name = `svc-${i}`;
    return {
      apiVersion: 'score.dev/v1b1',
      metadata: { name, annotations: { team: `team-${i % 7}` } },
      service: { ports: { http: { port: 8080 } } },
      containers: {
        main: {
          image: `registry.example/${name}:1`,
          command: ['node', 'server.js'],
          variables: {
            DB_URL:
              'postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/app',
            CACHE: '${resources.cache.host}:${resources.cache.port}',
            QUEUE: 'amqp://${resources.queue.username}:${resources.queue.password}@${resources.queue.host}',
            TEAM: '${metadata.annotations.team}',
          },
          files: { '/etc/app.conf': { content: 'name=${metadata.name}\ndb=${resources.db.host}\n' } },
        },
      },
      resources: {
        db: i % 4 === 0 ? { type: 'postgres', id: `shared-db-${i % 15}` } : { type: 'postgres' },
        cache: {
          type: 'redis',
          ...(i % 2 === 1 ? { class: 'large' } : {}),
          params: { upstream: '${resources.db.host}' },
        },
        queue: { type: 'amqp', id: `events-${i % 10}` },
      },
    };
  });
}

/**
 * 50 definitions over the three types, none tying: per type one per environment type, per app,
 * per environment, a `large` redis, and one per shared database and queue by res_id. Each request
 * is matched against every definition of its type.
 */
function generateDefinitions(): ResourceDefinition[] {
  const definitions: ResourceDefinition[] = [];
  const add = (name: string, type: string, criteria: Criteria[], extra: Partial<ResourceDefinition> = {}) =>
    definitions.push({
      name,
      version: 1,
      type,
      driver: 'echo',
      inputs: {
        values: { host: `${name}.internal`, port: 5432 },
        secrets: { username: 'app', password: `${name}-pw` },
      },
      criteria,
      ...extra,
    });
  for (const type of ['postgres', 'redis', 'amqp']) {
    for (const envType of ['development', 'preview', 'staging', 'production']) {
      add(`${type}-${envType}`, type, [{ env_type: envType }]);
    }
    add(`${type}-app-bench`, type, [{ app: 'bench' }]);
    add(`${type}-app-other`, type, [{ app: 'other' }]);
    add(`${type}-env-dev`, type, [{ env: 'dev' }]);
    add(`${type}-env-qa`, type, [{ env: 'qa' }]);
  }
  add('redis-large-development', 'redis', [{ env_type: 'development' }], { class: 'large' });
  for (let k = 0; k < 15; k += 1) add(`postgres-shared-db-${k}`, 'postgres', [{ res_id: `shared-db-${k}` }]);
  for (let k = 0; k < 10; k += 1) add(`amqp-events-${k}`, 'amqp', [{ res_id: `events-${k}` }]);
  return definitions;
}

function contextFor(workloads: ScoreWorkload[]): Omit<ProvisionContext, 'workload' | 'dependencies'> {
  return {
    app: 'bench',
    env: 'dev',
    envType: 'development',
    target: { name: 'process', kind: 'process' },
    network: Object.fromEntries(
      workloads.map((workload, i) => [
        workload.metadata.name,
        { hostname: '127.0.0.1', ports: { http: 40_000 + i }, declaredPorts: { http: 8080 } },
      ]),
    ),
    values: {},
  };
}

async function planApp(
  workloads: ScoreWorkload[],
  definitionList: ResourceDefinition[],
  context: Omit<ProvisionContext, 'workload' | 'dependencies'>,
) {
  const timings: Record<string, number> = {};
  const time = async <T>(stage: string, work: () => T | Promise<T>): Promise<T> => {
    const start = performance.now();
    const result = await work();
    timings[stage] = performance.now() - start;
    return result;
  };
  const drivers = new Map([['echo', createEchoDriver()]]);
  const start = performance.now();
  const requests = await time('request', () => requestResources(workloads));
  const { definitions } = await time('match', () =>
    resolveDefinitions(definitionList, requests.nodes, context),
  );
  const graph = await time('graph', () => buildResourceGraph(requests, workloads, { definitions }));
  const { resources } = await time('provision (plan only)', () =>
    provisionGraph(graph, { drivers, definitions, context, planOnly: true, concurrency: 64 }),
  );
  const rendered = await time('render', () =>
    renderWorkloads(workloads, { deployment: 1, outputs: workloadOutputs(graph, resources) }),
  );
  // Half the workloads run already with another spec, so the plan diffs as well as creates.
  const current = rendered
    .slice(0, WORKLOADS / 2)
    .map((workload) => ({ name: workload.name, specHash: 'other' }));
  const plan = await time('plan', () => planDeployment(rendered, current));
  const ms = performance.now() - start;
  const winners = new Set([...definitions.values()].map((definition) => definition.name));
  return { ms, timings, resources: resources.size, edges: graph.edges.length, winners: winners.size, plan };
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const mb = (bytes: number): number => bytes / 2 ** 20;

/** In the child: peak RSS of the whole process after generating the input, and after planning. */
async function measureMemoryInChild(): Promise<void> {
  const workloads = generateApp(WORKLOADS);
  const definitions = generateDefinitions();
  const context = contextFor(workloads);
  // maxRSS is the high-water mark of the process, in KiB.
  const beforeMb = process.resourceUsage().maxRSS / 1024;
  const heapBefore = process.memoryUsage().heapUsed;
  const { ms } = await planApp(workloads, definitions, context);
  const heapAfter = process.memoryUsage().heapUsed;
  console.log(
    JSON.stringify({
      beforeMb,
      afterMb: process.resourceUsage().maxRSS / 1024,
      heapGrowthMb: mb(heapAfter - heapBefore),
      ms,
    }),
  );
}

if (process.env[CHILD_FLAG] === '1') await measureMemoryInChild();

export const benchmark: Benchmark = {
  name: 'plan-large',
  async run() {
    const workloads = generateApp(WORKLOADS);
    const definitions = generateDefinitions();
    const context = contextFor(workloads);
    await planApp(workloads, definitions, context); // warm-up: JIT and module initialisation
    const runs = [];
    for (let i = 0; i < RUNS; i += 1) {
      globalThis.gc?.();
      runs.push(await planApp(workloads, definitions, context));
    }
    const ms = median(runs.map((run) => run.ms));
    const last = runs.at(-1)!;

    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, [CHILD_FLAG]: '1' },
      encoding: 'utf8',
    });
    const line = child.stdout.trim().split('\n').at(-1) ?? '';
    if (child.status !== 0 || !line.startsWith('{')) {
      throw new Error(`the memory measurement process failed (exit ${child.status}): ${child.stderr}`);
    }
    const memory = JSON.parse(line) as {
      beforeMb: number;
      afterMb: number;
      heapGrowthMb: number;
      ms: number;
    };

    return {
      title: `Plan of ${WORKLOADS.toLocaleString('en')} workloads × 3 resources, 50 definitions (plan-large)`,
      method:
        `request → match → graph → provision (plan only, echo driver) → render → plan of a generated app: ` +
        `${last.resources} resources after sharing (15 shared databases, 10 shared queues), ${last.edges} graph edges ` +
        `(caches depend on databases), matched against ${definitions.length} definitions (${last.winners} win somewhere). ` +
        `Time: median of ${RUNS} in-process runs after one warm-up. Memory: a fresh child process generates the ` +
        `input and plans once, cold; its peak RSS (process.resourceUsage().maxRSS) covers Node, the loaded code ` +
        `and the input as well as the plan.`,
      rows: [
        ...Object.entries(last.timings).map(([stage, value]) => ({
          measure: `stage: ${stage} (last run)`,
          value: `${round(value)} ms`,
        })),
        {
          measure: 'plan, median',
          value: `${round(ms)} ms`,
          target: `< ${TARGET_MS} ms`,
          ok: ms < TARGET_MS ? 'yes' : 'no',
        },
        { measure: 'plan, cold (child process, first run)', value: `${round(memory.ms)} ms` },
        {
          measure: 'peak RSS of the child, whole process',
          value: `${round(memory.afterMb, 0)} MB`,
          target: `< ${TARGET_MB} MB`,
          ok: memory.afterMb < TARGET_MB ? 'yes' : 'no',
        },
        {
          measure: 'peak RSS of the child before planning (Node, code, input)',
          value: `${round(memory.beforeMb, 0)} MB`,
        },
        { measure: 'heap growth over the plan (child)', value: `${round(memory.heapGrowthMb, 0)} MB` },
      ],
      notes: [`Plan summary: ${last.plan.summary}.`],
    };
  },
};
