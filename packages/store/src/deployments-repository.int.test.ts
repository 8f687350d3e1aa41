import { afterEach, describe, expect, it } from 'vitest';
import { DEPLOYMENT_STEP_NAMES } from './deployments-repository.js';
import { openStore } from './open-store.js';
import type { Deployment, DeploymentWorkload, Store } from './store.js';
import {
  createTestStore,
  describeEachDatabase,
  TEST_ENGINES,
  type TestStore,
} from './testing/test-databases.js';

const WORKLOAD: DeploymentWorkload = {
  name: 'web',
  file: 'score.yaml',
  score: 'apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n',
  contexts: { main: 'sha256:abc' },
  fileSources: { './nginx.conf': 'server {}\n' },
  images: { main: 'nginx:1.27' },
};

async function withEnvironment(store: Store, app = 'shop', env = 'dev'): Promise<void> {
  if ((await store.apps.get(app)) === undefined) await store.apps.create({ name: app, createdBy: 'alice' });
  await store.environments.create({ app, name: env, type: 'development', target: 'process', createdBy: 'a' });
}

function newDeployment(
  store: Store,
  env = 'dev',
  extra: Partial<Parameters<Store['deployments']['create']>[0]> = {},
): Promise<Deployment> {
  return store.deployments.create({
    app: 'shop',
    env,
    setId: 'set-1',
    actor: 'alice',
    workloads: [WORKLOAD],
    ...extra,
  });
}

describeEachDatabase('deployments repository', (getStore, _engine, getClock) => {
  it('creates queued deployments numbered per environment, with the nine steps pending', async () => {
    const store = getStore();
    await withEnvironment(store);
    await withEnvironment(store, 'shop', 'prod');
    const first = await newDeployment(store, 'dev', { message: 'first' });
    expect(first).toEqual({
      app: 'shop',
      env: 'dev',
      number: 1,
      status: 'queued',
      setId: 'set-1',
      message: 'first',
      actor: 'alice',
      createdAt: '2026-01-01T00:00:00.000Z',
      steps: DEPLOYMENT_STEP_NAMES.map((name) => ({ name, status: 'pending' })),
      workloads: [WORKLOAD],
    });
    expect(first.steps.map((step) => step.name)).toEqual([
      'validate',
      'request',
      'match',
      'graph',
      'provision',
      'render',
      'plan',
      'apply',
      'record',
    ]);
    expect((await newDeployment(store)).number).toBe(2);
    expect((await newDeployment(store, 'prod')).number).toBe(1);
    expect((await newDeployment(store)).number).toBe(3);
    expect(await store.deployments.get('shop', 'dev', 1)).toEqual(first);
    expect(await store.deployments.get('shop', 'dev', 9)).toBeUndefined();
  });

  it('keeps given steps and round-trips every JSON field', async () => {
    const store = getStore();
    await withEnvironment(store);
    const graph = { nodes: [{ id: 'db', outputs: { port: 5432, tls: true, tags: ['a', null] } }], edges: [] };
    const rendered = [{ workload: 'web', env: { PASSWORD: '***' }, nested: { ünïcode: '✓' } }];
    const steps = [{ name: 'validate', status: 'succeeded' as const, startedAt: 'x', finishedAt: 'y' }];
    const created = await newDeployment(store, 'dev', {
      steps,
      graph,
      rendered,
      sealedRuntimeSpec: 'sealed:abc',
      workloads: [WORKLOAD, { ...WORKLOAD, name: 'worker', contexts: {}, fileSources: {}, images: {} }],
    });
    const read = await store.deployments.get('shop', 'dev', created.number);
    expect(read).toEqual(created);
    expect(read?.steps).toEqual(steps);
    expect(read?.graph).toEqual(graph);
    expect(read?.rendered).toEqual(rendered);
    expect(read?.workloads[1]?.name).toBe('worker');
    expect(read?.sealedRuntimeSpec).toBe('sealed:abc');
    // A JSON null is a value, not an absent field.
    await store.deployments.update('shop', 'dev', created.number, { graph: null });
    expect((await store.deployments.get('shop', 'dev', created.number))?.graph).toBeNull();
  });

  it('refuses deployments of an environment that does not exist', async () => {
    const store = getStore();
    await store.apps.create({ name: 'shop', createdBy: 'alice' });
    await expect(newDeployment(store, 'ghost')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('environment "ghost" of app "shop" does not exist'),
    });
  });

  it('lists newest first, page by page', async () => {
    const store = getStore();
    await withEnvironment(store);
    await withEnvironment(store, 'shop', 'prod');
    for (let index = 0; index < 5; index += 1) await newDeployment(store);
    await newDeployment(store, 'prod');
    const first = await store.deployments.list('shop', 'dev', { limit: 2 });
    expect(first.items.map((deployment) => deployment.number)).toEqual([5, 4]);
    const second = await store.deployments.list('shop', 'dev', { limit: 2, after: first.next ?? undefined });
    expect(second.items.map((deployment) => deployment.number)).toEqual([3, 2]);
    const third = await store.deployments.list('shop', 'dev', { limit: 2, after: second.next ?? undefined });
    expect(third.items.map((deployment) => deployment.number)).toEqual([1]);
    expect(third.next).toBeNull();
    expect((await store.deployments.list('shop', 'prod')).items).toHaveLength(1);
    expect((await store.deployments.list('shop', 'none')).items).toEqual([]);
    await expect(store.deployments.list('shop', 'dev', { after: 'junk' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });

  it('lists by status across environments, oldest first', async () => {
    const store = getStore();
    const clock = getClock();
    await withEnvironment(store);
    await withEnvironment(store, 'shop', 'prod');
    await newDeployment(store, 'prod');
    clock.advance(1000);
    await newDeployment(store, 'dev');
    clock.advance(1000);
    await newDeployment(store, 'dev');
    await store.deployments.update('shop', 'dev', 1, { status: 'running' });
    await store.deployments.update('shop', 'prod', 1, { status: 'succeeded' });

    const names = (deployments: Deployment[]): string[] => deployments.map((d) => `${d.env}#${d.number}`);
    expect(names(await store.deployments.listByStatus(['queued', 'running']))).toEqual(['dev#1', 'dev#2']);
    expect(names(await store.deployments.listByStatus(['succeeded', 'queued']))).toEqual(['prod#1', 'dev#2']);
    expect(await store.deployments.listByStatus(['failed'])).toEqual([]);
    expect(await store.deployments.listByStatus([])).toEqual([]);
  });

  it('claims the oldest queued deployment only while none of the environment runs', async () => {
    const store = getStore();
    const clock = getClock();
    await withEnvironment(store);
    await withEnvironment(store, 'shop', 'prod');
    expect(await store.deployments.claimNext('shop', 'dev')).toBeUndefined();
    await newDeployment(store);
    await newDeployment(store);
    await newDeployment(store, 'prod');
    clock.advance(5000);

    const claimed = await store.deployments.claimNext('shop', 'dev');
    expect(claimed).toMatchObject({ number: 1, status: 'running', startedAt: '2026-01-01T00:00:05.000Z' });
    expect(await store.deployments.claimNext('shop', 'dev')).toBeUndefined();
    // Another environment is not held up.
    expect(await store.deployments.claimNext('shop', 'prod')).toMatchObject({ number: 1, status: 'running' });

    await store.deployments.update('shop', 'dev', 1, {
      status: 'succeeded',
      finishedAt: clock.now().toISOString(),
    });
    expect(await store.deployments.claimNext('shop', 'dev')).toMatchObject({ number: 2, status: 'running' });
    await store.deployments.update('shop', 'dev', 2, { status: 'failed' });
    expect(await store.deployments.claimNext('shop', 'dev')).toBeUndefined();
    await expect(store.deployments.claimNext('shop', 'ghost')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('skips cancelled deployments when claiming', async () => {
    const store = getStore();
    await withEnvironment(store);
    await newDeployment(store);
    await newDeployment(store);
    await store.deployments.update('shop', 'dev', 1, { status: 'cancelled' });
    expect(await store.deployments.claimNext('shop', 'dev')).toMatchObject({ number: 2 });
  });

  it('gives one winner when claims race on one store', async () => {
    const store = getStore();
    await withEnvironment(store);
    await newDeployment(store);
    await newDeployment(store);
    const claims = await Promise.all(
      Array.from({ length: 5 }, () => store.deployments.claimNext('shop', 'dev')),
    );
    expect(claims.filter((claim) => claim !== undefined).map((claim) => claim?.number)).toEqual([1]);
  });

  it('updates only the fields given', async () => {
    const store = getStore();
    await withEnvironment(store);
    const created = await newDeployment(store, 'dev', { message: 'hello', graph: { a: 1 } });
    const steps = created.steps.map((step, index) =>
      index === 0 ? { ...step, status: 'succeeded' as const } : step,
    );
    const running = await store.deployments.update('shop', 'dev', 1, {
      status: 'running',
      startedAt: '2026-01-01T01:00:00Z',
      steps,
    });
    expect(running).toEqual({ ...created, status: 'running', startedAt: '2026-01-01T01:00:00.000Z', steps });
    const failed = await store.deployments.update('shop', 'dev', 1, {
      status: 'failed',
      finishedAt: '2026-01-01T02:00:00.000Z',
      error: 'apply failed: port in use',
      rendered: [{ workload: 'web' }],
      sealedRuntimeSpec: 'sealed',
    });
    expect(failed).toEqual({
      ...running,
      status: 'failed',
      finishedAt: '2026-01-01T02:00:00.000Z',
      error: 'apply failed: port in use',
      rendered: [{ workload: 'web' }],
      sealedRuntimeSpec: 'sealed',
    });
    // Undefined means "leave as is", and an empty patch changes nothing.
    expect(await store.deployments.update('shop', 'dev', 1, { error: undefined })).toEqual(failed);
    expect(await store.deployments.update('shop', 'dev', 1, {})).toEqual(failed);
    expect(await store.deployments.get('shop', 'dev', 1)).toEqual(failed);

    await expect(store.deployments.update('shop', 'dev', 7, { status: 'failed' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('deployment 7 of environment "dev"'),
    });
    await expect(store.deployments.update('shop', 'ghost', 1, {})).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('environment "ghost"'),
    });
    await expect(store.deployments.update('shop', 'dev', 1, { finishedAt: 'later' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });

  it('tells the current deployment: the highest-numbered succeeded one', async () => {
    const store = getStore();
    await withEnvironment(store);
    expect(await store.deployments.current('shop', 'dev')).toBeUndefined();
    for (let index = 0; index < 4; index += 1) await newDeployment(store);
    await store.deployments.update('shop', 'dev', 1, { status: 'succeeded' });
    await store.deployments.update('shop', 'dev', 2, { status: 'succeeded' });
    await store.deployments.update('shop', 'dev', 3, { status: 'failed' });
    await store.deployments.update('shop', 'dev', 4, { status: 'running' });
    expect((await store.deployments.current('shop', 'dev'))?.number).toBe(2);
  });

  it('appends events in order per deployment and reads them after a sequence number', async () => {
    const store = getStore();
    const clock = getClock();
    await withEnvironment(store);
    await newDeployment(store);
    await newDeployment(store);
    const first = await store.deployments.appendEvent({
      app: 'shop',
      env: 'dev',
      deployment: 1,
      level: 'info',
      type: 'step',
      message: 'validating',
    });
    expect(first).toEqual({
      app: 'shop',
      env: 'dev',
      deployment: 1,
      seq: 1,
      time: '2026-01-01T00:00:00.000Z',
      level: 'info',
      type: 'step',
      message: 'validating',
    });
    clock.advance(1000);
    const second = await store.deployments.appendEvent({
      app: 'shop',
      env: 'dev',
      deployment: 1,
      level: 'warn',
      type: 'log',
      workload: 'web',
      message: 'slow start',
    });
    expect(second).toMatchObject({ seq: 2, time: '2026-01-01T00:00:01.000Z', workload: 'web' });
    const given = await store.deployments.appendEvent({
      app: 'shop',
      env: 'dev',
      deployment: 1,
      time: '2025-12-31T23:00:00Z',
      level: 'error',
      type: 'log',
      message: 'boom',
    });
    expect(given).toMatchObject({ seq: 3, time: '2025-12-31T23:00:00.000Z' });
    expect(
      (
        await store.deployments.appendEvent({
          app: 'shop',
          env: 'dev',
          deployment: 2,
          level: 'info',
          type: 't',
          message: 'm',
        })
      ).seq,
    ).toBe(1);

    expect(await store.deployments.events('shop', 'dev', 1)).toEqual([first, second, given]);
    expect((await store.deployments.events('shop', 'dev', 1, 1)).map((event) => event.seq)).toEqual([2, 3]);
    expect(await store.deployments.events('shop', 'dev', 1, 3)).toEqual([]);
    expect(await store.deployments.events('shop', 'dev', 9)).toEqual([]);

    const many = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        store.deployments.appendEvent({
          app: 'shop',
          env: 'dev',
          deployment: 2,
          level: 'info',
          type: 't',
          message: `m${index}`,
        }),
      ),
    );
    expect(many.map((event) => event.seq).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect((await store.deployments.events('shop', 'dev', 2)).map((event) => event.seq)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
    ]);
    await expect(
      store.deployments.appendEvent({
        app: 'shop',
        env: 'dev',
        deployment: 9,
        level: 'info',
        type: 't',
        message: 'm',
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('deployment 9') });
  });

  it('goes with its environment, events included', async () => {
    const store = getStore();
    await withEnvironment(store);
    await withEnvironment(store, 'shop', 'prod');
    await newDeployment(store);
    await newDeployment(store, 'prod');
    await store.deployments.appendEvent({
      app: 'shop',
      env: 'dev',
      deployment: 1,
      level: 'info',
      type: 't',
      message: 'm',
    });
    await store.environments.delete('shop', 'dev');
    expect(await store.deployments.get('shop', 'dev', 1)).toBeUndefined();
    expect(await store.deployments.events('shop', 'dev', 1)).toEqual([]);
    expect(await store.deployments.get('shop', 'prod', 1)).toBeDefined();
    // A new environment of the same name numbers from 1 again.
    await withEnvironment(store);
    expect((await newDeployment(store)).number).toBe(1);
  });

  it('works inside a store transaction, and rolls back with it', async () => {
    const store = getStore();
    await withEnvironment(store);
    await expect(
      store.transaction(async (trx) => {
        await newDeployment(trx);
        await trx.deployments.appendEvent({
          app: 'shop',
          env: 'dev',
          deployment: 1,
          level: 'info',
          type: 't',
          message: 'm',
        });
        expect(await trx.deployments.claimNext('shop', 'dev')).toMatchObject({ number: 1 });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.deployments.get('shop', 'dev', 1)).toBeUndefined();
    await store.transaction(async (trx) => newDeployment(trx));
    expect((await store.deployments.get('shop', 'dev', 1))?.status).toBe('queued');
  });
});

describe.each(TEST_ENGINES)('deployments across two stores [%s]', (engine) => {
  let test: TestStore | undefined;
  let other: Store | undefined;
  afterEach(async () => {
    await other?.close();
    other = undefined;
    await test?.cleanup();
    test = undefined;
  });

  async function twoStores(): Promise<[Store, Store]> {
    test = await createTestStore(engine);
    other = await openStore(test.options);
    await withEnvironment(test.store);
    return [test.store, other];
  }

  it('numbers concurrent creates without gaps or repeats', async () => {
    const [one, two] = await twoStores();
    const created = await Promise.all(
      Array.from({ length: 12 }, (_, index) => newDeployment(index % 2 === 0 ? one : two)),
    );
    expect(created.map((deployment) => deployment.number).sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ]);
  });

  it('gives one winner when two servers claim at once', async () => {
    const [one, two] = await twoStores();
    await newDeployment(one);
    await newDeployment(one);
    const claims = await Promise.all([
      one.deployments.claimNext('shop', 'dev'),
      two.deployments.claimNext('shop', 'dev'),
      one.deployments.claimNext('shop', 'dev'),
      two.deployments.claimNext('shop', 'dev'),
    ]);
    const winners = claims.filter((claim) => claim !== undefined);
    expect(winners.map((claim) => claim?.number)).toEqual([1]);
    expect((await one.deployments.listByStatus(['running'])).map((d) => d.number)).toEqual([1]);
  });

  it('numbers concurrent events without gaps or repeats', async () => {
    const [one, two] = await twoStores();
    await newDeployment(one);
    const events = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        (index % 2 === 0 ? one : two).deployments.appendEvent({
          app: 'shop',
          env: 'dev',
          deployment: 1,
          level: 'info',
          type: 't',
          message: `m${index}`,
        }),
      ),
    );
    expect(events.map((event) => event.seq).sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ]);
  });
});
