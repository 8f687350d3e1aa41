import { PavedError } from '@paved/core';
import { expect, it } from 'vitest';
import { openStore } from './open-store.js';
import type { Store, ValueScope } from './store.js';
import { createTestStore, describeEachDatabase } from './testing/test-databases.js';

const MINUTE = 60_000;
const shop: ValueScope = { app: 'shop' };
const dev: ValueScope = { app: 'shop', env: 'dev' };

function set(key: string, value: string, secret = false): { key: string; value: string; secret: boolean } {
  return { key, value, secret };
}

async function seed(store: Store): Promise<void> {
  await store.apps.create({ name: 'shop', createdBy: 'alice' });
  await store.environments.create({
    app: 'shop',
    name: 'dev',
    type: 'development',
    target: 'process',
    createdBy: 'alice',
  });
}

describeEachDatabase('values repository', (getStore, engine, getClock) => {
  it('writes one version per change, holding all its keys', async () => {
    const store = getStore();
    await seed(store);
    expect(await store.values.currentVersion(shop)).toBe(0);
    expect(await store.values.list(shop)).toEqual([]);

    expect(await store.values.change(shop, { set: [set('A', '1'), set('B', '2')] }, 'alice')).toBe(1);
    getClock().advance(MINUTE);
    expect(await store.values.change(shop, { set: [set('B', '3')], unset: ['A'] }, 'bob')).toBe(2);

    expect(await store.values.currentVersion(shop)).toBe(2);
    expect(await store.values.list(shop)).toEqual([
      {
        key: 'B',
        value: '3',
        secret: false,
        version: 2,
        updatedAt: '2026-01-01T00:01:00.000Z',
        updatedBy: 'bob',
      },
    ]);
  });

  it('lists what was in force at an earlier version', async () => {
    const store = getStore();
    await seed(store);
    await store.values.change(shop, { set: [set('A', '1'), set('B', '2')] }, 'alice');
    await store.values.change(shop, { set: [set('B', '3'), set('C', '4')] }, 'alice');
    await store.values.change(shop, { unset: ['A'] }, 'alice');
    await store.values.change(shop, { set: [set('A', '5')] }, 'alice');

    const at = async (version: number): Promise<Record<string, string>> =>
      Object.fromEntries((await store.values.list(shop, version)).map((entry) => [entry.key, entry.value]));
    expect(await at(0)).toEqual({});
    expect(await at(1)).toEqual({ A: '1', B: '2' });
    expect(await at(2)).toEqual({ A: '1', B: '3', C: '4' });
    expect(await at(3)).toEqual({ B: '3', C: '4' });
    expect(await at(4)).toEqual({ A: '5', B: '3', C: '4' });
    expect((await store.values.list(shop, 2)).find((entry) => entry.key === 'A')?.version).toBe(1);
    await expect(store.values.list(shop, 5)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('keeps app and environment scopes apart', async () => {
    const store = getStore();
    await seed(store);
    expect(await store.values.change(shop, { set: [set('A', 'app')] }, 'alice')).toBe(1);
    expect(await store.values.change(dev, { set: [set('A', 'env')] }, 'alice')).toBe(1);
    expect(await store.values.change(dev, { set: [set('B', 'env')] }, 'alice')).toBe(2);
    expect((await store.values.list(shop)).map((entry) => entry.value)).toEqual(['app']);
    expect((await store.values.list(dev)).map((entry) => entry.value)).toEqual(['env', 'env']);
    expect(await store.values.currentVersion(shop)).toBe(1);
  });

  it('stores secrets as given and marks them', async () => {
    const store = getStore();
    await seed(store);
    await store.values.change(shop, { set: [set('TOKEN', 'v1:ciphertext==', true)] }, 'alice');
    expect(await store.values.list(shop)).toEqual([
      expect.objectContaining({ key: 'TOKEN', value: 'v1:ciphertext==', secret: true }),
    ]);
    expect((await store.values.history(shop)).items[0]).toMatchObject({
      secret: true,
      value: 'v1:ciphertext==',
    });
  });

  it('refuses to unset a key that is not set, naming it, and writes nothing', async () => {
    const store = getStore();
    await seed(store);
    await store.values.change(shop, { set: [set('A', '1')] }, 'alice');
    const error = await store.values
      .change(shop, { set: [set('B', '2')], unset: ['A', 'MISSING'] }, 'alice')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PavedError);
    expect(error).toMatchObject({ code: 'INVALID_INPUT', details: { keys: ['MISSING'] } });
    expect((error as PavedError).message).toContain('"MISSING"');
    expect(await store.values.currentVersion(shop)).toBe(1);
    expect((await store.values.list(shop)).map((entry) => entry.key)).toEqual(['A']);
    expect((await store.values.history(shop)).items).toHaveLength(1);
  });

  it('rejects empty changes and keys given twice', async () => {
    const store = getStore();
    await seed(store);
    await store.values.change(shop, { set: [set('A', '1')] }, 'alice');
    await expect(store.values.change(shop, {}, 'alice')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(
      store.values.change(shop, { set: [set('A', '1'), set('A', '2')] }, 'alice'),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(
      store.values.change(shop, { set: [set('A', '1')], unset: ['A'] }, 'alice'),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    expect(await store.values.currentVersion(shop)).toBe(1);
  });

  it('refuses scopes that do not exist', async () => {
    const store = getStore();
    await seed(store);
    await expect(store.values.change({ app: 'ghost' }, { set: [set('A', '1')] }, 'a')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      store.values.change({ app: 'shop', env: 'prod' }, { set: [set('A', '1')] }, 'a'),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('gives history newest first, page by page', async () => {
    const store = getStore();
    await seed(store);
    await store.values.change(shop, { set: [set('A', '1'), set('B', '2')] }, 'alice');
    getClock().advance(MINUTE);
    await store.values.change(shop, { set: [set('C', '3')], unset: ['A'] }, 'bob');

    const first = await store.values.history(shop, { limit: 3 });
    expect(first.items).toEqual([
      { version: 2, key: 'A', action: 'unset', secret: false, actor: 'bob', at: '2026-01-01T00:01:00.000Z' },
      {
        version: 2,
        key: 'C',
        action: 'set',
        secret: false,
        value: '3',
        actor: 'bob',
        at: '2026-01-01T00:01:00.000Z',
      },
      {
        version: 1,
        key: 'A',
        action: 'set',
        secret: false,
        value: '1',
        actor: 'alice',
        at: '2026-01-01T00:00:00.000Z',
      },
    ]);
    expect(first.next).not.toBeNull();
    const second = await store.values.history(shop, { limit: 3, after: first.next ?? undefined });
    expect(second).toEqual({ items: [expect.objectContaining({ version: 1, key: 'B' })], next: null });
  });

  it('numbers concurrent changes without gaps or duplicates', async () => {
    const store = getStore();
    await seed(store);
    const versions = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        store.values.change(shop, { set: [set(`K${index}`, String(index))] }, 'a'),
      ),
    );
    expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    expect(await store.values.list(shop)).toHaveLength(20);
  });

  it('numbers concurrent changes from two connections without duplicates', async () => {
    // Two stores on one database, like two server processes: two pools on PostgreSQL, two
    // connections to one file on SQLite.
    const test = await createTestStore(engine);
    const other = await openStore(test.options);
    try {
      await seed(test.store);
      const stores = [test.store, other];
      const versions = await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          stores[index % 2]!.values.change(dev, { set: [set(`K${index}`, String(index))] }, 'a'),
        ),
      );
      expect([...versions].sort((a, b) => a - b)).toEqual(
        Array.from({ length: 40 }, (_, index) => index + 1),
      );
      expect(await other.values.list(dev)).toHaveLength(40);
    } finally {
      await other.close();
      await test.cleanup();
    }
  });

  it('deletes a scope: an environment alone, or the whole app', async () => {
    const store = getStore();
    await seed(store);
    await store.values.change(shop, { set: [set('A', '1')] }, 'a');
    await store.values.change(dev, { set: [set('B', '2')] }, 'a');
    await store.values.deleteScope(dev);
    expect(await store.values.list(dev)).toEqual([]);
    expect(await store.values.currentVersion(dev)).toBe(0);
    expect(await store.values.list(shop)).toHaveLength(1);
    await store.values.change(dev, { set: [set('B', '2')] }, 'a');
    await store.values.deleteScope(shop);
    expect(await store.values.list(shop)).toEqual([]);
    expect(await store.values.list(dev)).toEqual([]);
    expect((await store.values.history(shop)).items).toEqual([]);
  });
});
