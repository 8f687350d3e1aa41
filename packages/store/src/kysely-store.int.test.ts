import { expect, it } from 'vitest';
import { describeEachDatabase } from './testing/test-databases.js';

describeEachDatabase('store transactions', (getStore) => {
  it('commits everything the work did', async () => {
    const store = getStore();
    const result = await store.transaction(async (trx) => {
      await trx.apps.create({ name: 'shop', createdBy: 'alice' });
      await trx.environments.create({
        app: 'shop',
        name: 'dev',
        type: 'development',
        target: 'process',
        createdBy: 'a',
      });
      return trx.values.change(
        { app: 'shop', env: 'dev' },
        { set: [{ key: 'A', value: '1', secret: false }] },
        'a',
      );
    });
    expect(result).toBe(1);
    expect(await store.environments.get('shop', 'dev')).toBeDefined();
    expect(await store.values.list({ app: 'shop', env: 'dev' })).toHaveLength(1);
  });

  it('leaves nothing behind when the work fails', async () => {
    const store = getStore();
    await expect(
      store.transaction(async (trx) => {
        await trx.apps.create({ name: 'shop', createdBy: 'alice' });
        await trx.principals.create({ id: 'p-1', kind: 'user', name: 'alice' });
        await trx.grants.grant({ subject: 'p-1', role: 'admin', scope: { kind: 'org' } });
        await trx.values.change({ app: 'shop' }, { set: [{ key: 'A', value: '1', secret: false }] }, 'a');
        // Nested calls join the same transaction.
        await trx.transaction(async (inner) => inner.apps.create({ name: 'blog', createdBy: 'alice' }));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await store.apps.list()).items).toEqual([]);
    expect(await store.principals.get('p-1')).toBeUndefined();
    expect(await store.grants.listFor(['p-1'])).toEqual([]);
    expect(await store.values.currentVersion({ app: 'shop' })).toBe(0);
  });

  it('rolls back when a store error ends the work', async () => {
    const store = getStore();
    await store.apps.create({ name: 'shop', createdBy: 'alice' });
    await expect(
      store.transaction(async (trx) => {
        await trx.apps.create({ name: 'blog', createdBy: 'alice' });
        await trx.apps.create({ name: 'shop', createdBy: 'alice' });
      }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await store.apps.list()).items.map((app) => app.name)).toEqual(['shop']);
  });

  it('sees its own writes before commit', async () => {
    const store = getStore();
    await store.transaction(async (trx) => {
      await trx.apps.create({ name: 'shop', createdBy: 'alice' });
      expect(await trx.apps.get('shop')).toBeDefined();
    });
  });
});

describeEachDatabase('store copies', (getStore) => {
  it('keep transaction working when spread, as fakes in tests are made', async () => {
    const copy = { ...getStore() };
    await copy.transaction(async (trx) => trx.apps.create({ name: 'shop', createdBy: 'alice' }));
    expect(await getStore().apps.get('shop')).toBeDefined();
  });
});
