import { describe, expect, it } from 'vitest';
import { PavedError } from '../errors.js';
import { requestResources } from '../request/resource-requests.js';
import { scoreWorkload } from '../request/testing/score-workload.js';
import type { ScoreWorkload } from '../score/types.js';
import { buildResourceGraph } from './build-resource-graph.js';
import { graphWithProgress, ResourceGraph } from './resource-graph.js';

function build(workloads: ScoreWorkload[]): ResourceGraph {
  return buildResourceGraph(requestResources(workloads), workloads);
}

function problemsOf(work: () => unknown): string[] {
  try {
    work();
  } catch (error) {
    if (error instanceof PavedError) {
      const problems = error.details?.problems as { message: string }[] | undefined;
      return problems?.map((problem) => problem.message) ?? [error.message];
    }
    throw error;
  }
  throw new Error('expected a PavedError');
}

const web = scoreWorkload('web', {
  resources: {
    dns: { type: 'dns' },
    route: { type: 'route', params: { host: '${resources.dns.host}', path: '/', port: 'http' } },
    db: { type: 'postgres', id: 'main-db' },
  },
  containers: {
    main: {
      image: 'web',
      variables: { DB_HOST: '${resources.db.host}', NAME: '${metadata.name}' },
      files: {
        '/etc/a': { content: 'host=${resources.dns.host}' },
        '/etc/b': { content: '${resources.route.x}', noExpand: true },
      },
    },
  },
});
const worker = scoreWorkload('worker', {
  resources: { database: { type: 'postgres', id: 'main-db' } },
  variables: { URL: 'postgres://${resources.database.host}' },
});

describe('buildResourceGraph', () => {
  it('has resource and workload nodes and edges from placeholders in params and workloads', () => {
    const graph = build([web, worker]);
    expect(graph.nodes.map((node) => `${node.kind}:${node.id}`)).toEqual([
      'resource:dns.default#web.dns',
      'resource:route.default#web.route',
      'resource:postgres.default#main-db',
      'workload:workload:web',
      'workload:workload:worker',
    ]);
    expect(graph.edges).toEqual([
      { from: 'dns.default#web.dns', to: 'route.default#web.route', placeholders: ['${resources.dns.host}'] },
      { from: 'postgres.default#main-db', to: 'workload:web', placeholders: ['${resources.db.host}'] },
      { from: 'dns.default#web.dns', to: 'workload:web', placeholders: ['${resources.dns.host}'] },
      {
        from: 'postgres.default#main-db',
        to: 'workload:worker',
        placeholders: ['${resources.database.host}'],
      },
    ]);
    expect(graph.resource('route.default#web.route')?.references).toEqual({ dns: 'dns.default#web.dns' });
    expect(graph.dependenciesOf('workload:web')).toEqual(['postgres.default#main-db', 'dns.default#web.dns']);
  });

  it('orders resources in topological layers, independent ones together', () => {
    const layers = build([web, worker])
      .layers()
      .map((layer) => layer.map((node) => node.id));
    expect(layers).toEqual([
      ['dns.default#web.dns', 'postgres.default#main-db'],
      ['route.default#web.route'],
    ]);
  });

  it('serialises to JSON and back', () => {
    const graph = build([web, worker]);
    const json = JSON.parse(JSON.stringify(graph)) as ReturnType<ResourceGraph['toJSON']>;
    expect(json.nodes[0]).toMatchObject({
      id: 'dns.default#web.dns',
      kind: 'resource',
      type: 'dns',
      class: 'default',
      resId: 'web.dns',
    });
    expect(json.edges[0]).toMatchObject({ from: 'dns.default#web.dns', to: 'route.default#web.route' });
    expect(
      ResourceGraph.fromJSON(json)
        .layers()
        .map((layer) => layer.length),
    ).toEqual([2, 1]);
  });

  it('gives every node of the stored form a status, pending unless progress says otherwise', () => {
    const graph = build([web, worker]);
    const json = graphWithProgress(
      graph,
      new Map([['dns.default#web.dns', { status: 'failed' as const, durationMs: 3, error: 'refused' }]]),
    );
    expect(json.nodes.find((node) => node.id === 'dns.default#web.dns')).toMatchObject({
      kind: 'resource',
      status: 'failed',
      durationMs: 3,
      error: 'refused',
    });
    expect(json.nodes.filter((node) => node.status === 'pending')).toHaveLength(graph.nodes.length - 1);
    expect(json.edges).toEqual(graph.toJSON().edges);
  });

  it('records matched definitions on the nodes when given', () => {
    const requests = requestResources([worker]);
    const graph = buildResourceGraph(requests, [worker], {
      definitions: new Map([
        [
          'postgres.default#main-db',
          {
            name: 'pg',
            version: 3,
            type: 'postgres',
            driver: 'echo',
            inputs: { values: {}, secrets: {} },
            criteria: [],
          },
        ],
      ]),
    });
    expect(graph.resource('postgres.default#main-db')).toMatchObject({
      definition: { name: 'pg', version: 3 },
      driver: 'echo',
    });
  });

  it('refuses a cycle, naming its members in order', () => {
    const cyclic = scoreWorkload('web', {
      resources: {
        a: { type: 'echo-a', params: { x: '${resources.b.y}' } },
        b: { type: 'echo-b', params: { y: '${resources.c.z}' } },
        c: { type: 'echo-c', params: { z: ['${resources.a.x}'] } },
        d: { type: 'echo-d' },
      },
    });
    expect(() => build([cyclic])).toThrow(
      'resources depend on each other in a cycle: "echo-a.default#web.a" → "echo-b.default#web.b" → "echo-c.default#web.c" → "echo-a.default#web.a" ' +
        '(each needs an output of the next through a placeholder in its params): remove one of these placeholders',
    );
    const self = scoreWorkload('web', { resources: { a: { type: 'x', params: { x: '${resources.a.x}' } } } });
    expect(() => build([self])).toThrow(/cycle: "x.default#web.a" → "x.default#web.a"/);
  });

  it('reports every unknown resource name and malformed placeholder at once', () => {
    const bad = scoreWorkload('orders', {
      resources: {
        db: { type: 'postgres' },
        route: { type: 'route', params: { host: '${resources.dsn.host}' } },
      },
      containers: {
        main: {
          image: 'x',
          variables: { DB_HOST: '${resources.dbb.host}', BROKEN: '${resources.db.host' },
          command: ['${resources}'],
        },
      },
    });
    expect(problemsOf(() => build([bad]))).toEqual([
      'workload "orders" resource route params.host: ${resources.dsn.host}: workload "orders" has no resource "dsn"; its resources are db, route',
      'workload "orders" variable DB_HOST: ${resources.dbb.host}: workload "orders" has no resource "dbb"; its resources are db, route',
      'workload "orders" variable BROKEN: unterminated placeholder "${resources.db.host": add "}" or write "$$" for a literal "$"',
      'workload "orders" container main command[0]: ${resources}: name a resource, e.g. ${resources.db.host}',
    ]);
  });

  it('refuses a shared resource whose params mean different resources in different workloads', () => {
    const a = scoreWorkload('a', {
      resources: {
        dns: { type: 'dns' },
        route: { type: 'route', id: 'r', params: { host: '${resources.dns.host}' } },
      },
    });
    const b = scoreWorkload('b', {
      resources: {
        dns: { type: 'dns' },
        route: { type: 'route', id: 'r', params: { host: '${resources.dns.host}' } },
      },
    });
    expect(problemsOf(() => build([a, b]))).toEqual([
      'shared resource "route.default#r" has conflicting params: ${resources.dns.host} means "dns.default#a.dns" in workload "a" but "dns.default#b.dns" in workload "b": share the resource it names too, or use different ids',
    ]);
  });
});
