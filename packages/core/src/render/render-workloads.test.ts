import { describe, expect, it } from 'vitest';
import { PavedError } from '../errors.js';
import { scoreWorkload } from '../request/testing/score-workload.js';
import { UNKNOWN_OUTPUT, type ResourceOutputs } from './expand-template.js';
import { renderWorkloads, type RenderOptions } from './render-workloads.js';

const db: ResourceOutputs = {
  uid: 'postgres.default#orders.db',
  type: 'postgres',
  outputs: { host: 'db.internal', port: 5432, name: 'orders', options: { ssl: true, 'a.b': 'dotted' } },
  secrets: { password: 's3cr3t' },
};
const data: ResourceOutputs = {
  uid: 'volume.default#orders.data',
  type: 'volume',
  outputs: { source: 'paved-shop-dev-orders-data' },
  secrets: {},
};

const orders = scoreWorkload('orders', {
  metadata: { annotations: { team: 'blue' } },
  ports: { http: { port: 8080 }, metrics: { port: 9090, targetPort: 9091, protocol: 'UDP' } },
  containers: {
    main: {
      image: '.',
      command: ['node', '${metadata.name}.js'],
      args: ['--port=${resources.db.port}'],
      variables: {
        DB_HOST: '${resources.db.host}',
        DB_PORT: '${resources.db.port}',
        DB_URL: 'postgres://${resources.db.name}:${resources.db.password}@${resources.db.host}',
        DB_OPTIONS: '${resources.db.options}',
        DOTTED: '${resources.db.options.a\\.b}',
        TEAM: '${metadata.annotations.team}',
        PRICE: '$$5',
      },
      files: {
        '/etc/app.conf': { content: 'host=${resources.db.host}', mode: '0600' },
        '/etc/raw.conf': { content: 'keep ${resources.db.host}', noExpand: true },
        '/etc/secret.conf': { content: 'pw=${resources.db.password}' },
        '/bin/blob': { binaryContent: 'AQID' },
      },
      volumes: {
        '/data': { source: '${resources.data}', readOnly: true },
        '/cache': { source: '${resources.data.source}', path: 'c' },
      },
      resources: { limits: { memory: '128Mi' } },
    },
  },
  resources: { db: { type: 'postgres' }, data: { type: 'volume' } },
});

function options(extra: Partial<RenderOptions> = {}): RenderOptions {
  return {
    deployment: 7,
    outputs: new Map([
      [
        'orders',
        new Map([
          ['db', db],
          ['data', data],
        ]),
      ],
    ]),
    contexts: new Map([['orders', { main: { dir: '/srv/ctx/abc', hash: 'sha256:abc' } }]]),
    ports: new Map([['orders', { http: 41234 }]]),
    ...extra,
  };
}

function problemsOf(work: () => unknown): string[] {
  try {
    work();
  } catch (error) {
    if (error instanceof PavedError)
      return (error.details?.problems as { message: string }[]).map((problem) => problem.message);
    throw error;
  }
  throw new Error('expected a PavedError');
}

describe('renderWorkloads', () => {
  it('substitutes metadata and resource outputs everywhere Score allows, JSON-encoding non-strings', () => {
    const [rendered] = renderWorkloads([orders], options());
    const main = rendered!.containers.main!;
    expect(main.variables).toEqual({
      DB_HOST: 'db.internal',
      DB_PORT: '5432',
      DB_URL: 'postgres://orders:s3cr3t@db.internal',
      DB_OPTIONS: '{"ssl":true,"a.b":"dotted"}',
      DOTTED: 'dotted',
      TEAM: 'blue',
      PRICE: '$5',
    });
    expect(main.secretVariables).toEqual(['DB_URL']);
    expect(main.command).toEqual(['node', 'orders.js']);
    expect(main.args).toEqual(['--port=5432']);
    expect(main.files).toEqual([
      { target: '/etc/app.conf', content: 'host=db.internal', mode: '0600' },
      { target: '/etc/raw.conf', content: 'keep ${resources.db.host}' },
      { target: '/etc/secret.conf', content: 'pw=s3cr3t', secret: true },
      { target: '/bin/blob', content: new Uint8Array([1, 2, 3]) },
    ]);
    expect(main.volumes).toEqual([
      { target: '/data', source: 'paved-shop-dev-orders-data', readOnly: true },
      { target: '/cache', source: 'paved-shop-dev-orders-data', path: 'c', readOnly: false },
    ]);
    expect(main.context).toEqual({ dir: '/srv/ctx/abc', hash: 'sha256:abc' });
    expect(main.limits).toEqual({ memory: '128Mi' });
    expect(rendered!.ports).toEqual({
      http: { port: 8080, targetPort: 8080, protocol: 'TCP', hostPort: 41234 },
      metrics: { port: 9090, targetPort: 9091, protocol: 'UDP' },
    });
    expect(rendered!.deployment).toBe(7);
  });

  it('hashes the spec stably: equal inputs, equal hash, whatever the deployment number', () => {
    const [a] = renderWorkloads([orders], options());
    const [b] = renderWorkloads([orders], options({ deployment: 8 }));
    expect(a!.specHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b!.specHash).toBe(a!.specHash);
    const changed = { ...db, secrets: { password: 'rotated' } };
    const [c] = renderWorkloads(
      [orders],
      options({
        outputs: new Map([
          [
            'orders',
            new Map([
              ['db', changed],
              ['data', data],
            ]),
          ],
        ]),
      }),
    );
    expect(c!.specHash).not.toBe(a!.specHash);
  });

  it('names workload, variable and placeholder for a missing output, and reports every problem at once', () => {
    const broken = scoreWorkload('orders', {
      resources: { db: { type: 'postgres' } },
      containers: {
        main: {
          image: 'x',
          variables: {
            DB_HOST: '${resources.db.hots}',
            OTHER: '${resources.cache.host}',
            META: '${metadata.nope}',
            X: '${foo.bar}',
          },
          files: { '/f': { content: '${resources.db.options.missing}' } },
          volumes: { '/v': { source: '${resources.db}' } },
        },
      },
    });
    expect(problemsOf(() => renderWorkloads([broken], options()))).toEqual([
      'workload "orders" variable DB_HOST: ${resources.db.hots}: resource "db" (postgres) has no output "hots"; its outputs are host, port, name, options, password',
      'workload "orders" variable OTHER: ${resources.cache.host}: no resource "cache"; its resources are db, data',
      'workload "orders" variable META: ${metadata.nope}: the workload has no metadata "nope"; it has name',
      'workload "orders" variable X: ${foo.bar}: unknown placeholder: write ${metadata.<key>} or ${resources.<name>.<output>}',
      'workload "orders" container main file /f: ${resources.db.options.missing}: output "options" of resource "db" (postgres) has no key "missing"',
      'workload "orders" container main volume /v: ${resources.db}: resource "db" (postgres) has no output "source" to stand for it here; its outputs are host, port, name, options, password: use a volume resource or name an output',
    ]);
  });

  it('renders outputs not known yet as a marker in a plan', () => {
    const unknown: ResourceOutputs = { uid: 'x', type: 'postgres', outputs: {}, secrets: {}, partial: true };
    const planned: ResourceOutputs = {
      uid: 'y',
      type: 'dns',
      outputs: { host: UNKNOWN_OUTPUT },
      secrets: {},
    };
    const workload = scoreWorkload('web', {
      variables: { A: '${resources.db.host}', B: 'https://${resources.dns.host}' },
    });
    const [rendered] = renderWorkloads([workload], {
      deployment: 1,
      outputs: new Map([
        [
          'web',
          new Map([
            ['db', unknown],
            ['dns', planned],
          ]),
        ],
      ]),
    });
    expect(rendered!.containers.main!.variables).toEqual({
      A: UNKNOWN_OUTPUT,
      B: `https://${UNKNOWN_OUTPUT}`,
    });
  });

  it('lets platform metadata fill keys the Score file does not set', () => {
    const workload = scoreWorkload('web', {
      variables: { ENV: '${metadata.env}', NAME: '${metadata.name}' },
    });
    const [rendered] = renderWorkloads([workload], {
      deployment: 1,
      outputs: new Map(),
      metadata: new Map([['web', { env: 'dev', name: 'ignored' }]]),
    });
    expect(rendered!.containers.main!.variables).toEqual({ ENV: 'dev', NAME: 'web' });
  });
});
