import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachDatabase } from './testing/test-databases.js';

const hashOf = (token: string): string => createHash('sha256').update(token).digest('hex');

describeEachDatabase('tokens repository', (getStore, _engine, getClock) => {
  async function withPrincipal(): Promise<void> {
    await getStore().principals.create({ id: 'p-1', kind: 'user', name: 'alice' });
  }

  it('creates a token and finds it by hash', async () => {
    await withPrincipal();
    const store = getStore();
    const token = await store.tokens.create({
      id: 't-1',
      principalId: 'p-1',
      name: 'laptop',
      hash: hashOf('secret-1'),
      expiresAt: '2026-02-01T00:00:00.000Z',
      app: 'shop',
    });
    expect(token).toEqual({
      id: 't-1',
      principalId: 'p-1',
      name: 'laptop',
      hash: hashOf('secret-1'),
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-02-01T00:00:00.000Z',
      app: 'shop',
    });
    expect(await store.tokens.findByHash(hashOf('secret-1'))).toEqual(token);
    expect(await store.tokens.findByHash(hashOf('other'))).toBeUndefined();
  });

  it('records use and revocation', async () => {
    await withPrincipal();
    const store = getStore();
    const clock = getClock();
    await store.tokens.create({ id: 't-1', principalId: 'p-1', name: 'laptop', hash: hashOf('s') });

    clock.advance(60_000);
    await store.tokens.touch('t-1', clock.now());
    expect((await store.tokens.findByHash(hashOf('s')))?.lastUsedAt).toBe('2026-01-01T00:01:00.000Z');

    clock.advance(60_000);
    expect(await store.tokens.revoke('t-1', clock.now())).toBe(true);
    clock.advance(60_000);
    // A second revocation keeps the first time.
    expect(await store.tokens.revoke('t-1', clock.now())).toBe(true);
    expect((await store.tokens.findByHash(hashOf('s')))?.revokedAt).toBe('2026-01-01T00:02:00.000Z');
    expect(await store.tokens.revoke('t-404', clock.now())).toBe(false);
  });

  it('lists the tokens of a principal, oldest first', async () => {
    await withPrincipal();
    const store = getStore();
    await store.principals.create({ id: 'p-2', kind: 'service-account', name: 'ci' });
    await store.tokens.create({ id: 't-1', principalId: 'p-1', name: 'one', hash: hashOf('1') });
    getClock().advance(1000);
    await store.tokens.create({ id: 't-0', principalId: 'p-1', name: 'two', hash: hashOf('2') });
    await store.tokens.create({ id: 't-2', principalId: 'p-2', name: 'ci', hash: hashOf('3') });
    expect((await store.tokens.listFor('p-1')).map((token) => token.id)).toEqual(['t-1', 't-0']);
    expect(await store.tokens.listFor('p-9')).toEqual([]);
  });

  it('refuses a hash in use and an unknown principal', async () => {
    await withPrincipal();
    const store = getStore();
    await store.tokens.create({ id: 't-1', principalId: 'p-1', name: 'one', hash: hashOf('1') });
    const error = await store.tokens
      .create({ id: 't-2', principalId: 'p-1', name: 'two', hash: hashOf('1') })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CONFLICT' });
    expect((error as Error).message).not.toContain(hashOf('1'));
    await expect(
      store.tokens.create({ id: 't-3', principalId: 'p-9', name: 'x', hash: hashOf('3') }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('finds a token with its principal in one call, and by id', async () => {
    await withPrincipal();
    const store = getStore();
    await store.tokens.create({ id: 't-1', principalId: 'p-1', name: 'laptop', hash: hashOf('secret-1') });
    const found = await store.tokens.findWithPrincipal(hashOf('secret-1'));
    expect(found?.token).toMatchObject({ id: 't-1', name: 'laptop' });
    expect(found?.principal).toEqual(await store.principals.get('p-1'));
    expect(await store.tokens.findWithPrincipal(hashOf('other'))).toBeUndefined();
    expect((await store.tokens.get('t-1'))?.name).toBe('laptop');
    expect(await store.tokens.get('t-9')).toBeUndefined();
  });
});
