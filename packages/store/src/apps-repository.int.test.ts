import { PavedError } from '@paved/core';
import { describe, expect, it } from 'vitest';
import { describeEachDatabase } from './testing/test-databases.js';

describeEachDatabase('apps repository', (getStore) => {
  it('creates, gets and deletes an app', async () => {
    const store = getStore();
    const created = await store.apps.create({ name: 'shop', team: 'checkout', createdBy: 'alice' });
    expect(created).toEqual({
      name: 'shop',
      team: 'checkout',
      createdAt: '2026-01-01T00:00:00.000Z',
      createdBy: 'alice',
    });
    expect(await store.apps.get('shop')).toEqual(created);
    expect(await store.apps.get('nope')).toBeUndefined();
    expect(await store.apps.delete('shop')).toBe(true);
    expect(await store.apps.delete('shop')).toBe(false);
    expect(await store.apps.get('shop')).toBeUndefined();
  });

  it('keeps team optional', async () => {
    const created = await getStore().apps.create({ name: 'blog', createdBy: 'alice' });
    expect(created.team).toBeUndefined();
    expect((await getStore().apps.get('blog'))?.team).toBeUndefined();
  });

  it('refuses a second app of the same name with CONFLICT naming it', async () => {
    await getStore().apps.create({ name: 'shop', createdBy: 'alice' });
    const error = await getStore()
      .apps.create({ name: 'shop', createdBy: 'bob' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PavedError);
    expect(error).toMatchObject({ code: 'CONFLICT', message: 'app "shop" already exists' });
  });

  it('refuses to delete an app that still has environments', async () => {
    const store = getStore();
    await store.apps.create({ name: 'shop', createdBy: 'alice' });
    await store.environments.create({
      app: 'shop',
      name: 'dev',
      type: 'development',
      target: 'process',
      createdBy: 'alice',
    });
    await expect(store.apps.delete('shop')).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await store.apps.get('shop')).toBeDefined();
  });

  it('lists in name order, page by page', async () => {
    const store = getStore();
    const names = Array.from({ length: 7 }, (_, index) => `app-${String(index).padStart(2, '0')}`);
    for (const name of [...names].reverse()) await store.apps.create({ name, createdBy: 'alice' });

    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await store.apps.list({ limit: 3, ...(after === undefined ? {} : { after }) });
      seen.push(...page.items.map((app) => app.name));
      after = page.next ?? undefined;
      pages += 1;
    } while (after !== undefined);
    expect(seen).toEqual(names);
    expect(pages).toBe(3);

    const all = await store.apps.list();
    expect(all.items).toHaveLength(7);
    expect(all.next).toBeNull();
  });

  it('ends exactly at a full last page', async () => {
    const store = getStore();
    for (const name of ['a', 'b', 'c', 'd']) await store.apps.create({ name, createdBy: 'alice' });
    const first = await store.apps.list({ limit: 2 });
    const second = await store.apps.list({ limit: 2, after: first.next ?? undefined });
    expect(second.items.map((app) => app.name)).toEqual(['c', 'd']);
    expect(second.next).toBeNull();
  });

  it('caps the limit at 500 and rejects bad limits and cursors', async () => {
    const store = getStore();
    await store.apps.create({ name: 'shop', createdBy: 'alice' });
    expect((await store.apps.list({ limit: 10_000 })).items).toHaveLength(1);
    await expect(store.apps.list({ limit: 0 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(store.apps.list({ after: 'not-a-cursor' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});

describe('page size', () => {
  it('is 100 by default', async () => {
    const { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } = await import('./pagination.js');
    expect([DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE]).toEqual([100, 500]);
  });
});
