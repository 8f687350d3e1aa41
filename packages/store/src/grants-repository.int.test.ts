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

  it("resolves a principal's teams and every grant of it and its teams in one call", async () => {
    const store = getStore();
    await store.principals.create({ id: 'p-1', kind: 'user', name: 'alice' });
    await store.principals.create({ id: 'p-2', kind: 'user', name: 'bob' });
    await store.teams.create({ name: 'web', createdBy: 'admin' });
    await store.teams.create({ name: 'ops', createdBy: 'admin' });
    await store.teams.addMember('web', 'p-1');
    await store.teams.addMember('ops', 'p-1');
    await store.grants.grant({ subject: 'p-1', role: 'member', scope: { kind: 'org' } });
    await store.grants.grant({ subject: 'team:web', role: 'developer', scope: { kind: 'app', app: 'shop' } });
    await store.grants.grant({ subject: 'team:other', role: 'owner', scope: { kind: 'app', app: 'shop' } });
    await store.grants.grant({ subject: 'p-2', role: 'viewer', scope: { kind: 'app', app: 'shop' } });

    const resolved = await store.grants.resolve('p-1');
    expect(resolved.teams).toEqual(['ops', 'web']);
    expect(resolved.grants.map((grant) => [grant.subject, grant.role, grant.scope])).toEqual([
      ['p-1', 'member', { kind: 'org' }],
      ['team:web', 'developer', { kind: 'app', app: 'shop' }],
    ]);
    expect(await store.grants.resolve('p-9')).toEqual({ teams: [], grants: [] });
  });

  it('lists grants by subject, role and scope, and revokes all of a subject', async () => {
    const store = getStore();
    await store.grants.grant({ subject: 'p-1', role: 'owner', scope: { kind: 'app', app: 'shop' } });
    await store.grants.grant({ subject: 'p-2', role: 'viewer', scope: { kind: 'app', app: 'shop' } });
    await store.grants.grant({ subject: 'p-2', role: 'viewer', scope: { kind: 'app', app: 'blog' } });
    await store.grants.grant({ subject: 'p-2', role: 'member', scope: { kind: 'org' } });
    const subjects = (grants: { subject: string; role: string }[]) =>
      grants.map((g) => `${g.subject}:${g.role}`);
    expect(subjects(await store.grants.list({ scope: { kind: 'app', app: 'shop' } }))).toEqual([
      'p-1:owner',
      'p-2:viewer',
    ]);
    expect(subjects(await store.grants.list({ subject: 'p-2', role: 'viewer' }))).toEqual([
      'p-2:viewer',
      'p-2:viewer',
    ]);
    expect(await store.grants.list()).toHaveLength(4);
    expect(await store.grants.revokeAll('p-2')).toBe(3);
    expect(subjects(await store.grants.list())).toEqual(['p-1:owner']);
  });
});
