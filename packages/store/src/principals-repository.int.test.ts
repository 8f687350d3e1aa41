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
      hasPassword: false,
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

  it('keeps a password hash apart from the principal, and disables principals', async () => {
    const store = getStore();
    const alice = await store.principals.create({
      id: 'p-1',
      kind: 'user',
      name: 'alice',
      passwordHash: 'scrypt$hash',
    });
    expect(alice.hasPassword).toBe(true);
    expect(JSON.stringify(alice)).not.toContain('scrypt$hash');
    expect(await store.principals.passwordHash('p-1')).toBe('scrypt$hash');
    expect(await store.principals.setPassword('p-1', 'scrypt$other')).toBe(true);
    expect(await store.principals.passwordHash('p-1')).toBe('scrypt$other');
    expect(await store.principals.setPassword('p-1', undefined)).toBe(true);
    expect((await store.principals.get('p-1'))?.hasPassword).toBe(false);
    expect(await store.principals.setPassword('p-9', 'x')).toBe(false);

    expect(await store.principals.setDisabled('p-1', true)).toBe(true);
    expect((await store.principals.get('p-1'))?.disabled).toBe(true);
    expect(await store.principals.setDisabled('p-1', false)).toBe(true);
    expect((await store.principals.get('p-1'))?.disabled).toBe(false);
    expect(await store.principals.setDisabled('p-9', true)).toBe(false);
  });

  it('keeps the app a service account belongs to, and lists by kind and app', async () => {
    const store = getStore();
    await store.principals.create({ id: 'p-1', kind: 'user', name: 'alice' });
    await store.principals.create({ id: 'p-2', kind: 'service-account', name: 'shop-ci', app: 'shop' });
    await store.principals.create({ id: 'p-3', kind: 'service-account', name: 'org-ci' });
    expect((await store.principals.get('p-2'))?.app).toBe('shop');
    const names = async (options: Parameters<typeof store.principals.list>[0]) =>
      (await store.principals.list(options)).items.map((principal) => principal.name);
    expect(await names({ kind: 'service-account' })).toEqual(['org-ci', 'shop-ci']);
    expect(await names({ app: 'shop' })).toEqual(['shop-ci']);
    expect(await names({ kind: 'user' })).toEqual(['alice']);
    await expect(
      store.principals.create({ id: 'p-4', kind: 'user', name: 'bob', app: 'shop' }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});
