import { expect, it } from 'vitest';
import type { ActiveResource, Store } from './store.js';
import { describeEachDatabase } from './testing/test-databases.js';

const DATABASE: Omit<ActiveResource, 'updatedAt'> = {
  app: 'shop',
  env: 'dev',
  uid: 'postgres.default#web.db',
  type: 'postgres',
  class: 'default',
  resId: 'web.db',
  definition: 'postgres-docker',
  definitionVersion: 3,
  driver: 'docker',
  status: 'provisioning',
  state: { container: 'abc123', volumes: ['data'], ready: false, attempts: 0, note: null },
  outputs: { host: '127.0.0.1', port: 5432, nested: { list: [1, 'two', true] } },
  sealedSecrets: 'sealed:xyz',
  stateful: true,
};

async function withEnvironments(store: Store, ...envs: string[]): Promise<void> {
  await store.apps.create({ name: 'shop', createdBy: 'alice' });
  for (const name of envs) {
    await store.environments.create({
      app: 'shop',
      name,
      type: 'development',
      target: 'process',
      createdBy: 'a',
    });
  }
}

describeEachDatabase('active resources repository', (getStore, _engine, getClock) => {
  it('puts, gets, lists and deletes, round-tripping JSON state and outputs', async () => {
    const store = getStore();
    await withEnvironments(store, 'dev', 'prod');
    const put = await store.resources.put(DATABASE);
    expect(put).toEqual({ ...DATABASE, updatedAt: '2026-01-01T00:00:00.000Z' });
    expect(await store.resources.get('shop', 'dev', DATABASE.uid)).toEqual(put);
    const cache = await store.resources.put({
      ...DATABASE,
      uid: 'redis.default#web.cache',
      type: 'redis',
      state: null,
      outputs: {},
      sealedSecrets: undefined,
      stateful: false,
    });
    expect(cache).toMatchObject({ state: null, outputs: {}, stateful: false });
    expect(cache.sealedSecrets).toBeUndefined();
    await store.resources.put({ ...DATABASE, env: 'prod' });
    expect((await store.resources.list('shop', 'dev')).map((resource) => resource.uid)).toEqual([
      'postgres.default#web.db',
      'redis.default#web.cache',
    ]);
    expect(await store.resources.get('shop', 'dev', 'redis.default#web.cache')).toEqual(cache);
    expect(await store.resources.get('shop', 'dev', 'nope')).toBeUndefined();

    expect(await store.resources.delete('shop', 'dev', DATABASE.uid)).toBe(true);
    expect(await store.resources.delete('shop', 'dev', DATABASE.uid)).toBe(false);
    expect((await store.resources.list('shop', 'dev')).map((resource) => resource.uid)).toEqual([
      'redis.default#web.cache',
    ]);
    expect(await store.resources.list('shop', 'prod')).toHaveLength(1);
  });

  it('replaces by (app, env, uid), stamping the time of the last put', async () => {
    const store = getStore();
    await withEnvironments(store, 'dev');
    await store.resources.put(DATABASE);
    getClock().advance(60_000);
    const replaced = await store.resources.put({
      ...DATABASE,
      status: 'ready',
      state: { container: 'abc123', ready: true },
      outputs: { host: 'db', port: 6543 },
      sealedSecrets: undefined,
      definitionVersion: 4,
    });
    expect(replaced).toMatchObject({
      status: 'ready',
      definitionVersion: 4,
      updatedAt: '2026-01-01T00:01:00.000Z',
    });
    expect(await store.resources.get('shop', 'dev', DATABASE.uid)).toEqual(replaced);
    expect(replaced.sealedSecrets).toBeUndefined();
    expect(await store.resources.list('shop', 'dev')).toHaveLength(1);
  });

  it('refuses resources of an environment that does not exist', async () => {
    const store = getStore();
    await withEnvironments(store);
    await expect(store.resources.put({ ...DATABASE, env: 'ghost' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('environment "ghost" of app "shop" does not exist'),
    });
  });

  it('lists the resources a definition made, in every environment, whatever their status', async () => {
    const store = getStore();
    await withEnvironments(store, 'dev', 'prod');
    await store.resources.put({ ...DATABASE, env: 'prod', status: 'detached', definitionVersion: 1 });
    await store.resources.put({ ...DATABASE, status: 'ready' });
    await store.resources.put({ ...DATABASE, uid: 'dns.default#web.dns', definition: 'other-dns' });
    expect(
      (await store.resources.listByDefinition('postgres-docker')).map(
        (resource) => `${resource.env} ${resource.uid} v${resource.definitionVersion} ${resource.status}`,
      ),
    ).toEqual(['dev postgres.default#web.db v3 ready', 'prod postgres.default#web.db v1 detached']);
    expect(await store.resources.listByDefinition('nope')).toEqual([]);
  });

  it('go with their environment', async () => {
    const store = getStore();
    await withEnvironments(store, 'dev');
    await store.resources.put(DATABASE);
    await store.environments.delete('shop', 'dev');
    expect(await store.resources.list('shop', 'dev')).toEqual([]);
  });
});
