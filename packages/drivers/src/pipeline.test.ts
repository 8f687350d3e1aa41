/**
 * The pure stages of one deployment, end to end, with the built-in drivers: request → match →
 * graph → provision → render → plan.
 */
import {
  buildResourceGraph,
  planDeployment,
  provisionGraph,
  renderWorkloads,
  requestResources,
  resolveDefinitions,
  UNKNOWN_OUTPUT,
  workloadOutputs,
  type ProvisionContext,
  type ResourceDefinition,
  type ScoreWorkload,
} from '@paved/core';
import { describe, expect, it } from 'vitest';
import { builtinDrivers, defaultDefinitions } from './builtin-drivers.js';

const orders: ScoreWorkload = {
  apiVersion: 'score.dev/v1b1',
  metadata: { name: 'orders' },
  service: { ports: { http: { port: 8080 } } },
  containers: {
    main: {
      image: 'orders:1',
      variables: {
        DB_URL:
          'postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}',
        USERS_URL: 'http://${resources.users.hostname}:${resources.users.port}',
        PUBLIC_URL: 'http://${resources.dns.host}',
        LOG_LEVEL: '${resources.env.LOG_LEVEL}',
      },
      volumes: { '/data': { source: '${resources.data}' } },
    },
  },
  resources: {
    db: { type: 'postgres', id: 'main-db' },
    users: { type: 'service-port', params: { workload: 'users', port: 'http' } },
    dns: { type: 'dns' },
    route: { type: 'route', params: { host: '${resources.dns.host}', path: '/orders', port: 'http' } },
    env: { type: 'environment', id: 'env' },
    data: { type: 'volume' },
  },
};
const users: ScoreWorkload = {
  apiVersion: 'score.dev/v1b1',
  metadata: { name: 'users' },
  service: { ports: { http: { port: 8081 } } },
  containers: { main: { image: 'users:1', variables: { DB_HOST: '${resources.database.host}' } } },
  resources: { database: { type: 'postgres', id: 'main-db' } },
};

const postgres: ResourceDefinition = {
  name: 'external-postgres',
  version: 1,
  type: 'postgres',
  driver: 'echo',
  inputs: { values: { host: 'db.internal', port: 5432 }, secrets: { username: 'app', password: 'pw' } },
  criteria: [{ env_type: 'development' }],
};

const context: Omit<ProvisionContext, 'workload' | 'dependencies'> = {
  app: 'shop',
  env: 'dev',
  envType: 'development',
  target: { name: 'process', kind: 'process' },
  network: {
    orders: { hostname: '127.0.0.1', ports: { http: 41000 }, declaredPorts: { http: 8080 } },
    users: { hostname: '127.0.0.1', ports: { http: 41001 }, declaredPorts: { http: 8081 } },
  },
  values: { LOG_LEVEL: { value: 'debug', secret: false } },
};

async function pipeline(planOnly: boolean) {
  const workloads = [orders, users];
  const requests = requestResources(workloads);
  const { definitions } = resolveDefinitions([...defaultDefinitions(), postgres], requests.nodes, context);
  const graph = buildResourceGraph(requests, workloads, { definitions });
  const { resources } = await provisionGraph(graph, {
    drivers: builtinDrivers(),
    definitions,
    context,
    planOnly,
  });
  const rendered = renderWorkloads(workloads, { deployment: 1, outputs: workloadOutputs(graph, resources) });
  return { graph, resources, rendered, plan: planDeployment(rendered, []) };
}

describe('deployment pipeline with the built-in drivers', () => {
  it('provisions and renders', async () => {
    const { graph, resources, rendered, plan } = await pipeline(false);
    expect(graph.layers().map((layer) => layer.length)).toEqual([5, 1]);
    expect(resources.get('route.default#orders.route')?.state).toEqual({
      host: 'orders-dev-shop.localhost',
      path: '/orders',
      port: 'http',
      workload: 'orders',
    });
    expect(resources.get('volume.default#orders.data')?.stateful).toBe(true);
    const main = rendered[0]!.containers.main!;
    expect(main.variables).toEqual({
      DB_URL: 'postgres://app:pw@db.internal:5432',
      USERS_URL: 'http://127.0.0.1:41001',
      PUBLIC_URL: 'http://orders-dev-shop.localhost',
      LOG_LEVEL: 'debug',
    });
    expect(main.secretVariables).toEqual(['DB_URL']);
    expect(main.volumes).toEqual([
      { target: '/data', source: 'paved-shop-dev-orders-data', readOnly: false },
    ]);
    expect(rendered[1]!.containers.main!.variables).toEqual({ DB_HOST: 'db.internal' });
    expect(plan.summary).toBe('workloads: 2 to create');
  });

  it('plans without provisioning, marking outputs not known yet; pure drivers answer now', async () => {
    const { rendered } = await pipeline(true);
    const variables = rendered[0]!.containers.main!.variables;
    // dns has no side effect, so the plan shows its real host; the database is not provisioned.
    expect(variables.PUBLIC_URL).toBe('http://orders-dev-shop.localhost');
    expect(variables.DB_URL).toContain(UNKNOWN_OUTPUT);
  });

  it('refuses at plan time a misspelt output of a resource not provisioned yet', async () => {
    const typo = {
      ...users,
      containers: { main: { image: 'u', variables: { DB_HOST: '${resources.database.hots}' } } },
    };
    const workloads = [typo];
    const requests = requestResources(workloads);
    const { definitions } = resolveDefinitions([postgres], requests.nodes, context);
    const graph = buildResourceGraph(requests, workloads, { definitions });
    const { resources } = await provisionGraph(graph, {
      drivers: builtinDrivers(),
      definitions,
      context,
      planOnly: true,
    });
    expect(() =>
      renderWorkloads(workloads, { deployment: 1, outputs: workloadOutputs(graph, resources) }),
    ).toThrow(
      'workload "users" variable DB_HOST: ${resources.database.hots}: resource "database" (postgres) has no output "hots"; its outputs are host, port, username, password',
    );
  });
});
