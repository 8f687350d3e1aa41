import { expect, it } from 'vitest';
import { describeEachDatabase } from './testing/test-databases.js';

describeEachDatabase('principals repository', (getStore) => {
  it('creates principals and finds them by id and name', async () => {
    const store = getStore();
    const alice = await store.principals.create({ id: 'p-1', kind: 'user', name: 'alice' });
    expect(alice).toEqual({
      id: 'p-1',
      kind: 'user',
      name: 'alice',
      createdAt: '2026-01-01T00:00:00.000Z',
      disabled: false,
    });
    await store.principals.create({ id: 'p-2', kind: 'service-account', name: 'ci' });
    expect(await store.principals.get('p-1')).toEqual(alice);
    expect(await store.principals.findByName('ci')).toMatchObject({ id: 'p-2', kind: 'service-account' });
    expect(await store.principals.get('p-9')).toBeUndefined();
    expect(await store.principals.findByName('nobody')).toBeUndefined();
  });

  it('refuses a taken name or id with CONFLICT', async () => {
    const store = getStore();
    await store.principals.create({ id: 'p-1', kind: 'user', name: 'alice' });
    await expect(store.principals.create({ id: 'p-2', kind: 'user', name: 'alice' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('"alice"'),
    });
    await expect(store.principals.create({ id: 'p-1', kind: 'user', name: 'bob' })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('lists by name, page by page', async () => {
    const store = getStore();
    for (const [index, name] of ['carol', 'alice', 'bob'].entries()) {
      await store.principals.create({ id: `p-${index}`, kind: 'user', name });
    }
    const first = await store.principals.list({ limit: 2 });
    expect(first.items.map((principal) => principal.name)).toEqual(['alice', 'bob']);
    const second = await store.principals.list({ limit: 2, after: first.next ?? undefined });
    expect(second).toEqual({ items: [expect.objectContaining({ name: 'carol' })], next: null });
  });
});
