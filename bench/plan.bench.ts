/**
 * Plans a generated app of 1,000 workloads with 3 resources each — private and shared, a route
 * depending on a dns — through request → match → graph → provision (plan only) → render → plan,
 * against a baseline of a bare JSON clone of the same workloads in the same run.
 */
import {
  buildResourceGraph,
  planDeployment,
  provisionGraph,
  renderWorkloads,
  requestResources,
  resolveDefinitions,
  workloadOutputs,
  type ProvisionContext,
  type ResourceDefinition,
  type ScoreWorkload,
} from '../packages/core/src/index.js';
import { builtinDrivers, defaultDefinitions } from '../packages/drivers/src/index.js';
import { measure, round, type Benchmark } from './report.js';

const WORKLOADS = 1_000;
const RUNS = 5;
const TARGET_MS = 1_000;
const TARGET_MB = 300;

function generateApp(count: number): ScoreWorkload[] {
  return Array.from({ length: count }, (_, i): ScoreWorkload => {
    const name = `svc-${i}`;
    // Every other workload shares one of 50 databases; the rest have their own.
    const db = i % 2 === 0 ? { type: 'postgres' } : { type: 'postgres', id: `shared-db-${i % 50}` };
    return {
      apiVersion: 'score.dev/v1b1',
      metadata: { name, annotations: { team: `team-${i % 7}` } },
      service: { ports: { http: { port: 8080 } } },
      containers: {
        main: {
          image: `registry.example/${name}:1`,
          command: ['node', 'server.js'],
          args: ['--port', '8080'],
          variables: {
            DB_URL:
              'postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/app',
            PUBLIC_URL: 'https://${resources.dns.host}/',
            TEAM: '${metadata.annotations.team}',
            STATIC: 'plain value without placeholders',
          },
          files: { '/etc/app.conf': { content: 'name=${metadata.name}\nhost=${resources.dns.host}\n' } },
          resources: { limits: { memory: '256Mi', cpu: '500m' } },
        },
      },
      resources: {
        db,
        dns: { type: 'dns' },
        route: { type: 'route', params: { host: '${resources.dns.host}', path: '/', port: 'http' } },
      },
    };
  });
}

const postgres: ResourceDefinition = {
  name: 'bench-postgres',
  version: 1,
  type: 'postgres',
  driver: 'echo',
  inputs: { values: { host: 'db.internal', port: 5432 }, secrets: { username: 'app', password: 'pw' } },
  criteria: [{ env_type: 'development' }],
};

async function planApp(
  workloads: ScoreWorkload[],
  context: Omit<ProvisionContext, 'workload' | 'dependencies'>,
) {
  const timings: Record<string, number> = {};
  const time = async <T>(stage: string, work: () => T | Promise<T>): Promise<T> => {
    const start = performance.now();
    const result = await work();
    timings[stage] = performance.now() - start;
    return result;
  };
  const requests = await time('request', () => requestResources(workloads));
  const { definitions } = await time('match', () =>
    resolveDefinitions([...defaultDefinitions(), postgres], requests.nodes, context),
  );
  const graph = await time('graph', () => buildResourceGraph(requests, workloads, { definitions }));
  const { resources } = await time('provision (plan only)', () =>
    provisionGraph(graph, {
      drivers: builtinDrivers(),
      definitions,
      context,
      planOnly: true,
      concurrency: 64,
    }),
  );
  const rendered = await time('render', () =>
    renderWorkloads(workloads, { deployment: 1, outputs: workloadOutputs(graph, resources) }),
  );
  // Half the workloads run already with another spec, so the plan diffs as well as creates.
  const current = rendered
    .slice(0, WORKLOADS / 2)
    .map((workload) => ({ name: workload.name, specHash: 'other' }));
  const plan = await time('plan', () => planDeployment(rendered, current));
  return { timings, resources: resources.size, plan };
}

export const benchmark: Benchmark = {
  name: 'plan',
  async run() {
    const workloads = generateApp(WORKLOADS);
    const network = Object.fromEntries(
      workloads.map((workload, i) => [
        workload.metadata.name,
        { hostname: '127.0.0.1', ports: { http: 40_000 + i }, declaredPorts: { http: 8080 } },
      ]),
    );
    const context = {
      app: 'bench',
      env: 'dev',
      envType: 'development',
      target: { name: 'process', kind: 'process' as const },
      network,
      values: {},
    };
    await planApp(workloads, context); // warm-up: JIT and module initialisation
    const runs = [];
    for (let i = 0; i < RUNS; i += 1) runs.push(await measure(() => planApp(workloads, context)));
    const baselines = [];
    for (let i = 0; i < RUNS; i += 1) {
      baselines.push(await measure(() => JSON.parse(JSON.stringify(workloads)) as ScoreWorkload[]));
    }
    const median = (values: number[]): number =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    const ms = median(runs.map((run) => run.ms));
    const baselineMs = median(baselines.map((run) => run.ms));
    const peakRssMb = Math.max(...runs.map((run) => run.peakRssMb));
    const last = runs.at(-1)!.result;
    return {
      title: `Plan of ${WORKLOADS.toLocaleString('en')} workloads × 3 resources`,
      method:
        `request → match → graph → provision (plan only, built-in drivers and an echo postgres) → render → plan of a ` +
        `generated app (${last.resources} resources after sharing; routes depend on dns), median of ${RUNS} runs after ` +
        `one warm-up; baseline: a JSON clone of the same workloads, in the same process.`,
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
        {
          measure: 'peak RSS',
          value: `${round(peakRssMb, 0)} MB`,
          target: `< ${TARGET_MB} MB`,
          ok: peakRssMb < TARGET_MB ? 'yes' : 'no',
        },
        { measure: 'baseline: JSON clone, median', value: `${round(baselineMs)} ms` },
        { measure: 'ratio plan / baseline', value: `${round(ms / baselineMs, 1)}×` },
      ],
      notes: [`Plan summary: ${last.plan.summary}.`],
    };
  },
};
