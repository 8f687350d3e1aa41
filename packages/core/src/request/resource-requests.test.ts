import { describe, expect, it } from 'vitest';
import { PavedError } from '../errors.js';
import { requestResources } from './resource-requests.js';
import { stableStringify } from './stable-stringify.js';
import { scoreWorkload } from './testing/score-workload.js';

function thrown(work: () => unknown): PavedError {
  try {
    work();
  } catch (error) {
    if (error instanceof PavedError) return error;
    throw error;
  }
  throw new Error('expected a PavedError');
}

describe('requestResources', () => {
  it('gives private resources the uid <type>.<class>#<workload>.<name>', () => {
    const requests = requestResources([
      scoreWorkload('orders', {
        resources: { db: { type: 'postgres' }, cache: { type: 'redis', class: 'large' } },
      }),
    ]);
    expect(requests.nodes.map((node) => node.uid)).toEqual([
      'postgres.default#orders.db',
      'redis.large#orders.cache',
    ]);
    expect(requests.byWorkload.get('orders')?.get('db')).toBe('postgres.default#orders.db');
    expect(requests.byUid.get('redis.large#orders.cache')).toMatchObject({
      type: 'redis',
      class: 'large',
      id: 'orders.cache',
      shared: false,
      implicit: false,
      claims: [{ workload: 'orders', name: 'cache' }],
    });
  });

  it('shares resources with the same type, class and id, keeping who asked under which name', () => {
    const requests = requestResources([
      scoreWorkload('orders', {
        resources: { bus: { type: 'amqp', id: 'events', params: { vhost: 'a', n: [1, 2] } } },
      }),
      scoreWorkload('billing', {
        resources: { queue: { type: 'amqp', id: 'events', params: { n: [1, 2], vhost: 'a' } } },
      }),
      scoreWorkload('audit', { resources: { queue: { type: 'amqp', class: 'other', id: 'events' } } }),
    ]);
    expect(requests.nodes).toHaveLength(2);
    expect(requests.byUid.get('amqp.default#events')?.claims).toEqual([
      { workload: 'orders', name: 'bus' },
      { workload: 'billing', name: 'queue' },
    ]);
    expect(requests.byWorkload.get('billing')?.get('queue')).toBe('amqp.default#events');
    expect(requests.byWorkload.get('audit')?.get('queue')).toBe('amqp.other#events');
  });

  it('refuses shared resources with conflicting params, naming both workloads, and reports every problem', () => {
    const error = thrown(() =>
      requestResources([
        scoreWorkload('orders', {
          resources: { bus: { type: 'amqp', id: 'events', params: { vhost: 'a' } } },
        }),
        scoreWorkload('billing', {
          resources: { bus: { type: 'amqp', id: 'events', params: { vhost: 'b' } } },
        }),
        scoreWorkload('orders'),
      ]),
    );
    expect(error.code).toBe('INVALID_INPUT');
    const problems = error.details?.problems as { path: string; message: string }[];
    expect(problems).toHaveLength(2);
    expect(problems[0]?.message).toMatch(
      /shared resource "amqp.default#events" has conflicting params: workload "orders" \(resources.bus\) asks for \{"vhost":"a"\}, workload "billing" \(resources.bus\) for \{"vhost":"b"\}/,
    );
    expect(problems[1]?.message).toMatch(/workload "orders" is given twice/);
  });

  it('refuses a shared id that collides with a private resource', () => {
    expect(() =>
      requestResources([
        scoreWorkload('orders', { resources: { db: { type: 'postgres' } } }),
        scoreWorkload('billing', { resources: { db: { type: 'postgres', id: 'orders.db' } } }),
      ]),
    ).toThrow(/same id as the private resource "db" of workload "orders"/);
  });

  it('adds implicit resources once, unless a workload already asks for them', () => {
    const requests = requestResources(
      [scoreWorkload('orders', { resources: { env: { type: 'environment', id: 'env' } } })],
      {
        implicit: [
          { type: 'environment', id: 'env' },
          { type: 'dns', id: 'apex', params: { zone: 'x' } },
        ],
      },
    );
    expect(requests.nodes.map((node) => [node.uid, node.implicit])).toEqual([
      ['environment.default#env', false],
      ['dns.default#apex', true],
    ]);
    expect(requests.byUid.get('dns.default#apex')?.claims).toEqual([]);
  });
});

describe('stableStringify', () => {
  it('sorts keys at every level, drops undefined members and encodes bytes', () => {
    expect(stableStringify({ b: 1, a: { d: [{ z: 1, y: undefined }], c: 2 } })).toBe(
      '{"a":{"c":2,"d":[{"z":1}]},"b":1}',
    );
    expect(stableStringify(new Uint8Array([1, 2]))).toBe('{"base64":"AQI="}');
  });
});
