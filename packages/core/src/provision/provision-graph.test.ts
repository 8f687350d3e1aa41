import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ProvisionContext, ProvisionRequest, ResourceDriver } from '../driver.js';
import { ManualClock } from '../clock.js';
import { PavedError } from '../errors.js';
import type { GraphNodeProgress } from '../graph/resource-graph.js';
import { buildResourceGraph } from '../graph/build-resource-graph.js';
import type { ResourceDefinition } from '../matching/resource-definition.js';
import { UNKNOWN_OUTPUT, type ResourceOutputs } from '../render/expand-template.js';
import { requestResources } from '../request/resource-requests.js';
import { scoreWorkload } from '../request/testing/score-workload.js';
import type { ScoreWorkload } from '../score/types.js';
import { provisionGraph, type ProvisionGraphOptions } from './provision-graph.js';
import { workloadOutputs } from './workload-outputs.js';

const context: Omit<ProvisionContext, 'workload' | 'dependencies'> = {
  app: 'shop',
  env: 'dev',
  envType: 'development',
  target: { name: 'process', kind: 'process' },
  network: {},
  values: {},
};

/** A driver that records calls, returns `host` and `port` plus a secret, and can be told to fail or wait. */
function fakeDriver(
  id: string,
  behaviour: { fail?: (uid: string) => boolean; delayMs?: number; outputNames?: boolean } = {},
): ResourceDriver & { calls: ProvisionRequest[]; active: number; maxActive: number } {
  const driver = {
    id,
    inputs: z.object({ size: z.number().optional() }),
    calls: [] as ProvisionRequest[],
    active: 0,
    maxActive: 0,
    ...(behaviour.outputNames === false
      ? {}
      : { outputNames: () => ({ values: ['host', 'port', 'params'], secrets: ['password'] }) }),
    async provision(request: ProvisionRequest, signal: AbortSignal) {
      signal.throwIfAborted();
      driver.calls.push(request);
      driver.active += 1;
      driver.maxActive = Math.max(driver.maxActive, driver.active);
      await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs ?? 1));
      driver.active -= 1;
      if (behaviour.fail?.(request.resource.uid) === true) throw new Error('connection refused');
      return {
        outputs: { host: `${request.resource.id}.internal`, port: 5432, params: request.resource.params },
        secrets: { password: `pw-${request.resource.id}` },
        state: { previous: request.previousState ?? null },
      };
    },
    async deprovision() {},
  };
  return driver;
}

function definitionsFor(workloads: ScoreWorkload[], driver = 'fake', inputs: Record<string, unknown> = {}) {
  const requests = requestResources(workloads);
  const definitions = new Map<string, ResourceDefinition>(
    requests.nodes.map((node) => [
      node.uid,
      {
        name: `def-${node.type}`,
        version: 2,
        type: node.type,
        driver,
        inputs: { values: inputs, secrets: {} },
        criteria: [],
      },
    ]),
  );
  return { graph: buildResourceGraph(requests, workloads, { definitions }), definitions };
}

const app = scoreWorkload('web', {
  metadata: { team: 'blue' },
  resources: {
    dns: { type: 'dns' },
    route: {
      type: 'route',
      params: {
        host: '${resources.dns.host}',
        url: 'https://${resources.dns.host}:${resources.dns.port}',
        team: '${metadata.team}',
      },
    },
    db: { type: 'postgres' },
    cache: { type: 'redis' },
  },
});

function options(
  driver: ResourceDriver,
  definitions: Map<string, ResourceDefinition>,
  extra: Partial<ProvisionGraphOptions> = {},
): ProvisionGraphOptions {
  return {
    drivers: new Map([[driver.id, driver]]),
    definitions,
    context,
    workloadMetadata: new Map([['web', app.metadata]]),
    ...extra,
  };
}

async function failure(work: Promise<unknown>): Promise<PavedError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof PavedError) return error;
    throw error;
  }
  throw new Error('expected a PavedError');
}

describe('provisionGraph', () => {
  it('provisions dependencies first and feeds their outputs into params, keeping whole-placeholder types', async () => {
    const driver = fakeDriver('fake');
    const { graph, definitions } = definitionsFor([app]);
    const persisted: string[] = [];
    const { resources } = await provisionGraph(
      graph,
      options(driver, definitions, {
        persist: async (uid) => {
          persisted.push(uid);
        },
      }),
    );
    const order = driver.calls.map((call) => call.resource.uid);
    expect(order.indexOf('dns.default#web.dns')).toBeLessThan(order.indexOf('route.default#web.route'));
    const route = driver.calls.find((call) => call.resource.type === 'route');
    expect(route?.resource.params).toEqual({
      host: 'web.dns.internal',
      url: 'https://web.dns.internal:5432',
      team: 'blue',
    });
    expect(route?.context.workload).toBe('web');
    expect(route?.context.dependencies).toEqual({
      dns: {
        outputs: expect.objectContaining({ host: 'web.dns.internal' }),
        secrets: { password: 'pw-web.dns' },
      },
    });
    expect(persisted.sort()).toEqual([...resources.keys()].sort());
    expect(resources.get('postgres.default#web.db')).toMatchObject({
      status: 'provisioned',
      definition: { name: 'def-postgres', version: 2 },
      driver: 'fake',
      secrets: { password: 'pw-web.db' },
      stateful: false,
    });
  });

  it('runs independent resources in parallel, bounded by concurrency', async () => {
    const many = scoreWorkload('web', {
      resources: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`r${i}`, { type: 'thing' }])),
    });
    const { graph, definitions } = definitionsFor([many]);
    const bounded = fakeDriver('fake', { delayMs: 5 });
    await provisionGraph(graph, options(bounded, definitions, { concurrency: 3 }));
    expect(bounded.maxActive).toBe(3);
    const wide = fakeDriver('fake', { delayMs: 5 });
    await provisionGraph(graph, options(wide, definitions, { concurrency: 100 }));
    expect(wide.maxActive).toBe(12);
  });

  it('passes the previous state and secrets so drivers converge', async () => {
    const driver = fakeDriver('fake');
    const { graph, definitions } = definitionsFor([app]);
    const previous = new Map([
      ['postgres.default#web.db', { state: { id: 'x' }, outputs: {}, secrets: { password: 'kept' } }],
    ]);
    await provisionGraph(graph, options(driver, definitions, { previous }));
    const call = driver.calls.find((entry) => entry.resource.type === 'postgres');
    expect(call?.previousState).toEqual({ id: 'x' });
    // Passwords live in secret outputs: without them a driver would have to set a new one.
    expect(call?.previousSecrets).toEqual({ password: 'kept' });
  });

  it('stops scheduling at the first failure and names the resource, definition and driver', async () => {
    const driver = fakeDriver('fake', { fail: (uid) => uid === 'dns.default#web.dns' });
    const { graph, definitions } = definitionsFor([app]);
    const persisted: string[] = [];
    const error = await failure(
      provisionGraph(
        graph,
        options(driver, definitions, { concurrency: 1, persist: async (uid) => void persisted.push(uid) }),
      ),
    );
    expect(error.code).toBe('DRIVER_FAILED');
    expect(error.message).toBe(
      'resource "dns.default#web.dns" failed to provision with definition "def-dns" (version 2, driver fake): connection refused',
    );
    expect(error.details).toMatchObject({
      uid: 'dns.default#web.dns',
      definition: 'def-dns',
      driver: 'fake',
      provisioned: [],
    });
    expect(driver.calls.map((call) => call.resource.uid)).toEqual(['dns.default#web.dns']);
    expect(persisted).toEqual([]);
  });

  it('fails the resource when persisting its result fails', async () => {
    const { graph, definitions } = definitionsFor([
      scoreWorkload('web', { resources: { db: { type: 'postgres' } } }),
    ]);
    const error = await failure(
      provisionGraph(
        graph,
        options(fakeDriver('fake'), definitions, { persist: () => Promise.reject(new Error('disk full')) }),
      ),
    );
    expect(error.code).toBe('DRIVER_FAILED');
    expect(error.message).toMatch(/provisioned, but recording the result failed: disk full/);
  });

  it('rejects invalid driver inputs and unknown drivers before calling any driver', async () => {
    const driver = fakeDriver('fake');
    const bad = definitionsFor([app], 'fake', { size: 'huge' });
    const error = await failure(provisionGraph(bad.graph, options(driver, bad.definitions)));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatch(/definition "def-dns" \(driver fake\) has invalid inputs: size: /);
    const missing = definitionsFor([app], 'nope');
    expect(
      (await failure(provisionGraph(missing.graph, options(driver, missing.definitions)))).message,
    ).toMatch(/names driver "nope", which this server does not have; its drivers are fake/);
    expect(driver.calls).toEqual([]);
  });

  it('fails at plan time naming an output a dependency lacks', async () => {
    const workload = scoreWorkload('web', {
      resources: {
        dns: { type: 'dns' },
        route: { type: 'route', params: { host: '${resources.dns.hots}' } },
      },
    });
    const { graph, definitions } = definitionsFor([workload]);
    const error = await failure(
      provisionGraph(graph, options(fakeDriver('fake'), definitions, { planOnly: true })),
    );
    expect(error.message).toBe(
      'workload "web" resource route params.host: ${resources.dns.hots}: resource "dns" (dns) has no output "hots"; its outputs are host, port, params, password',
    );
  });

  it('honours the abort signal: an aborted signal rejects, and an abort stops scheduling', async () => {
    const { graph, definitions } = definitionsFor([app]);
    const controller = new AbortController();
    controller.abort(new Error('cancelled by user'));
    await expect(
      provisionGraph(graph, options(fakeDriver('fake'), definitions, { signal: controller.signal })),
    ).rejects.toThrow('cancelled by user');
    const later = new AbortController();
    const driver = fakeDriver('fake', { delayMs: 10 });
    const run = provisionGraph(graph, options(driver, definitions, { signal: later.signal, concurrency: 1 }));
    setTimeout(() => later.abort(new Error('stop')), 2);
    await expect(run).rejects.toThrow('stop');
    expect(driver.calls.length).toBeLessThan(4);
  });

  it('emits events for each resource', async () => {
    const events: string[] = [];
    const { graph, definitions } = definitionsFor([
      scoreWorkload('web', { resources: { db: { type: 'postgres' } } }),
    ]);
    await provisionGraph(
      graph,
      options(fakeDriver('fake'), definitions, {
        onEvent: (event) => events.push(`${event.type} ${event.uid}`),
      }),
    );
    expect(events).toEqual([
      'resource.started postgres.default#web.db',
      'resource.provisioned postgres.default#web.db',
    ]);
  });

  it('reports each resource provisioning, then provisioned with timings from the clock', async () => {
    const clock = new ManualClock('2026-03-01T10:00:00.000Z');
    const driver = fakeDriver('fake');
    const provision = driver.provision.bind(driver);
    driver.provision = async (request, signal) => {
      clock.advance(250);
      return provision(request, signal);
    };
    const { graph, definitions } = definitionsFor([
      scoreWorkload('web', { resources: { db: { type: 'postgres' } } }),
    ]);
    const seen: [string, GraphNodeProgress][] = [];
    await provisionGraph(
      graph,
      options(driver, definitions, { clock, onProgress: (uid, progress) => seen.push([uid, progress]) }),
    );
    expect(seen).toEqual([
      ['postgres.default#web.db', { status: 'provisioning', startedAt: '2026-03-01T10:00:00.000Z' }],
      [
        'postgres.default#web.db',
        {
          status: 'provisioned',
          startedAt: '2026-03-01T10:00:00.000Z',
          finishedAt: '2026-03-01T10:00:00.250Z',
          durationMs: 250,
        },
      ],
    ]);
  });

  it('reports a failed resource with its error, and those it kept from starting as skipped', async () => {
    const driver = fakeDriver('fake', { fail: (uid) => uid === 'dns.default#web.dns' });
    const { graph, definitions } = definitionsFor([app]);
    const last = new Map<string, GraphNodeProgress>();
    await failure(
      provisionGraph(
        graph,
        options(driver, definitions, {
          concurrency: 1,
          onProgress: (uid, progress) => last.set(uid, progress),
        }),
      ),
    );
    expect(last.get('dns.default#web.dns')).toMatchObject({
      status: 'failed',
      error: 'connection refused',
      durationMs: expect.any(Number),
      finishedAt: expect.any(String),
    });
    // The route depends on the dns; with one driver at a time nothing else started either.
    expect(last.get('route.default#web.route')).toEqual({ status: 'skipped' });
    expect([...last.values()].filter((progress) => progress.status === 'skipped')).toHaveLength(3);
  });

  it('reports a resource failing its checks before the driver as failed, naming why', async () => {
    const bad = definitionsFor([scoreWorkload('web', { resources: { db: { type: 'postgres' } } })], 'nope');
    const last = new Map<string, GraphNodeProgress>();
    await failure(
      provisionGraph(
        bad.graph,
        options(fakeDriver('fake'), bad.definitions, {
          onProgress: (uid, progress) => last.set(uid, progress),
        }),
      ),
    );
    expect(last.get('postgres.default#web.db')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/names driver "nope", which this server does not have/),
    });
  });

  describe('planOnly', () => {
    it('calls no driver, reuses existing outputs and marks the others as known after provisioning', async () => {
      const driver = fakeDriver('fake');
      const { graph, definitions } = definitionsFor([app]);
      const previous = new Map([
        [
          'dns.default#web.dns',
          { state: {}, outputs: { host: 'old.localhost', port: 1, params: {} }, secrets: { password: 'pw' } },
        ],
      ]);
      const { resources } = await provisionGraph(
        graph,
        options(driver, definitions, { planOnly: true, previous }),
      );
      expect(driver.calls).toEqual([]);
      expect(resources.get('dns.default#web.dns')).toMatchObject({
        status: 'planned',
        reused: true,
        outputs: { host: 'old.localhost' },
      });
      expect(resources.get('route.default#web.route')?.params).toEqual({
        host: 'old.localhost',
        url: 'https://old.localhost:1',
        team: 'blue',
      });
      expect(resources.get('postgres.default#web.db')).toMatchObject({
        outputs: { host: UNKNOWN_OUTPUT, port: UNKNOWN_OUTPUT },
        secrets: { password: UNKNOWN_OUTPUT },
      });
    });

    it('accepts any output name of a resource whose driver cannot list them', async () => {
      const { graph, definitions } = definitionsFor([app]);
      const { resources } = await provisionGraph(
        graph,
        options(fakeDriver('fake', { outputNames: false }), definitions, { planOnly: true }),
      );
      expect(resources.get('dns.default#web.dns')?.partial).toBe(true);
      expect(resources.get('route.default#web.route')?.params).toMatchObject({ host: UNKNOWN_OUTPUT });
    });

    it('reports every problem at once', async () => {
      const workload = scoreWorkload('web', {
        resources: {
          a: { type: 'x' },
          b: { type: 'x', params: { p: '${resources.a.nope}' } },
          c: { type: 'x', params: { p: '${resources.a.nada}' } },
        },
      });
      const { graph, definitions } = definitionsFor([workload]);
      const error = await failure(
        provisionGraph(graph, options(fakeDriver('fake'), definitions, { planOnly: true })),
      );
      expect((error.details?.problems as unknown[]).length).toBe(2);
    });
  });
});

describe('workloadOutputs', () => {
  it('lists a shared resource under each workload by its own name', () => {
    const workloads = [
      scoreWorkload('a', { resources: { db: { type: 'postgres', id: 'shared' } } }),
      scoreWorkload('b', { resources: { database: { type: 'postgres', id: 'shared' } } }),
    ];
    const { graph } = definitionsFor(workloads);
    const resource = {
      uid: 'postgres.default#shared',
      type: 'postgres',
      outputs: { host: 'h' },
      secrets: {},
    } satisfies ResourceOutputs;
    const byWorkload = workloadOutputs(graph, new Map([[resource.uid, resource]]));
    expect(byWorkload.get('a')?.get('db')).toBe(resource);
    expect(byWorkload.get('b')?.get('database')).toBe(resource);
  });
});
