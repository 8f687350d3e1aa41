import { expect, it } from 'vitest';
import { describeEachDatabase } from './testing/test-databases.js';

describeEachDatabase('sessions repository', (getStore, _engine, getClock) => {
  it('creates sessions, finds them by hash with their principal, touches and revokes them', async () => {
    const store = getStore();
    await store.principals.create({ id: 'p-1', kind: 'user', name: 'alice' });
    const session = await store.sessions.create({
      id: 's-1',
      principalId: 'p-1',
      hash: 'a'.repeat(64),
      csrfHash: 'b'.repeat(64),
      expiresAt: '2026-01-01T12:00:00Z',
      remoteAddress: '127.0.0.1',
    });
    expect(session).toEqual({
      id: 's-1',
      principalId: 'p-1',
      hash: 'a'.repeat(64),
      csrfHash: 'b'.repeat(64),
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-01-01T12:00:00.000Z',
      remoteAddress: '127.0.0.1',
    });
    const found = await store.sessions.findWithPrincipal('a'.repeat(64));
    expect(found).toEqual({ session, principal: await store.principals.get('p-1') });
    expect(await store.sessions.findWithPrincipal('c'.repeat(64))).toBeUndefined();

    getClock().advance(1000);
    await store.sessions.touch('s-1', getClock().now());
    expect((await store.sessions.findWithPrincipal('a'.repeat(64)))?.session.lastUsedAt).toBe(
      '2026-01-01T00:00:01.000Z',
    );
    expect(await store.sessions.revoke('s-1', getClock().now())).toBe(true);
    getClock().advance(1000);
    expect(await store.sessions.revoke('s-1', getClock().now())).toBe(true);
    expect((await store.sessions.findWithPrincipal('a'.repeat(64)))?.session.revokedAt).toBe(
      '2026-01-01T00:00:01.000Z',
    );
    expect(await store.sessions.revoke('s-9', getClock().now())).toBe(false);
  });

  it('revokes every live session of a principal at once', async () => {
    const store = getStore();
    await store.principals.create({ id: 'p-1', kind: 'user', name: 'alice' });
    for (const id of ['s-1', 's-2']) {
      await store.sessions.create({
        id,
        principalId: 'p-1',
        hash: id.repeat(16),
        csrfHash: 'x',
        expiresAt: '2026-01-02T00:00:00Z',
      });
    }
    expect(await store.sessions.revokeAllFor('p-1', getClock().now())).toBe(2);
    expect(await store.sessions.revokeAllFor('p-1', getClock().now())).toBe(0);
    await expect(
      store.sessions.create({
        id: 's-3',
        principalId: 'p-9',
        hash: 'h',
        csrfHash: 'x',
        expiresAt: '2026-01-02T00:00:00Z',
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
