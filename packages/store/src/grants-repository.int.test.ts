import { expect, it } from 'vitest';
import { describeEachDatabase } from './testing/test-databases.js';

describeEachDatabase('role grants repository', (getStore) => {
  it('grants, lists and revokes roles on every kind of scope', async () => {
    const store = getStore();
    const admin = await store.grants.grant({ subject: 'p-1', role: 'admin', scope: { kind: 'org' } });
    expect(admin).toEqual({
      subject: 'p-1',
      role: 'admin',
      scope: { kind: 'org' },
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    await store.grants.grant({ subject: 'team:web', role: 'developer', scope: { kind: 'app', app: 'shop' } });
    await store.grants.grant({
      subject: 'team:web',
      role: 'deployer',
      scope: { kind: 'env-type', envType: 'production' },
    });
    await store.grants.grant({ subject: 'p-2', role: 'viewer', scope: { kind: 'org' } });

    expect(await store.grants.listFor(['p-1', 'team:web'])).toEqual([
      expect.objectContaining({ subject: 'p-1', role: 'admin', scope: { kind: 'org' } }),
      expect.objectContaining({
        subject: 'team:web',
        role: 'deployer',
        scope: { kind: 'env-type', envType: 'production' },
      }),
      expect.objectContaining({
        subject: 'team:web',
        role: 'developer',
        scope: { kind: 'app', app: 'shop' },
      }),
    ]);
    expect(await store.grants.listFor([])).toEqual([]);

    expect(
      await store.grants.revoke({
        subject: 'team:web',
        role: 'developer',
        scope: { kind: 'app', app: 'shop' },
      }),
    ).toBe(true);
    expect(
      await store.grants.revoke({
        subject: 'team:web',
        role: 'developer',
        scope: { kind: 'app', app: 'shop' },
      }),
    ).toBe(false);
    // The same role on another scope is another grant.
    expect(
      await store.grants.revoke({
        subject: 'team:web',
        role: 'deployer',
        scope: { kind: 'env-type', envType: 'staging' },
      }),
    ).toBe(false);
    expect(await store.grants.listFor(['team:web'])).toHaveLength(1);
  });

  it('refuses the same grant twice with CONFLICT', async () => {
    const store = getStore();
    const grant = { subject: 'p-1', role: 'developer', scope: { kind: 'app', app: 'shop' } } as const;
    await store.grants.grant(grant);
    await expect(store.grants.grant(grant)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: '"p-1" already has role "developer" on app "shop"',
    });
  });
});
