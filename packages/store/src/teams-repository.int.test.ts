import { expect, it } from 'vitest';
import { describeEachDatabase } from './testing/test-databases.js';

describeEachDatabase('teams repository', (getStore) => {
  it('creates, lists, gets and deletes teams', async () => {
    const store = getStore();
    const web = await store.teams.create({ name: 'web', description: 'The web team', createdBy: 'admin' });
    expect(web).toEqual({
      name: 'web',
      description: 'The web team',
      createdAt: '2026-01-01T00:00:00.000Z',
      createdBy: 'admin',
    });
    await store.teams.create({ name: 'ops', createdBy: 'admin' });
    await expect(store.teams.create({ name: 'web', createdBy: 'x' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'team "web" already exists',
    });
    const first = await store.teams.list({ limit: 1 });
    expect(first.items.map((team) => team.name)).toEqual(['ops']);
    const rest = await store.teams.list({ limit: 1, after: first.next ?? undefined });
    expect(rest).toEqual({ items: [web], next: null });
    expect(await store.teams.get('web')).toEqual(web);
    expect(await store.teams.get('nope')).toBeUndefined();
    expect(await store.teams.setDescription('web', 'Web people')).toBe(true);
    expect((await store.teams.get('web'))?.description).toBe('Web people');
    expect(await store.teams.setDescription('web', undefined)).toBe(true);
    expect((await store.teams.get('web'))?.description).toBeUndefined();
    expect(await store.teams.setDescription('nope', 'x')).toBe(false);
    expect(await store.teams.delete('web')).toBe(true);
    expect(await store.teams.delete('web')).toBe(false);
  });

  it('adds and removes members, and forgets memberships with the team', async () => {
    const store = getStore();
    await store.principals.create({ id: 'p-1', kind: 'user', name: 'bob' });
    await store.principals.create({ id: 'p-2', kind: 'user', name: 'alice' });
    await store.teams.create({ name: 'web', createdBy: 'admin' });
    await store.teams.create({ name: 'ops', createdBy: 'admin' });
    expect(await store.teams.addMember('web', 'p-1')).toBe(true);
    expect(await store.teams.addMember('web', 'p-1')).toBe(false);
    expect(await store.teams.addMember('web', 'p-2')).toBe(true);
    expect(await store.teams.addMember('ops', 'p-1')).toBe(true);
    expect((await store.teams.members('web')).map((member) => member.name)).toEqual(['alice', 'bob']);
    expect(await store.teams.teamsOf('p-1')).toEqual(['ops', 'web']);

    await expect(store.teams.addMember('nope', 'p-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.teams.addMember('web', 'p-9')).rejects.toMatchObject({ code: 'NOT_FOUND' });

    expect(await store.teams.removeMember('web', 'p-1')).toBe(true);
    expect(await store.teams.removeMember('web', 'p-1')).toBe(false);
    await store.teams.delete('ops');
    expect(await store.teams.teamsOf('p-1')).toEqual([]);
  });

  it('adds a member inside a transaction without spoiling it when it is one already', async () => {
    const store = getStore();
    await store.principals.create({ id: 'p-1', kind: 'user', name: 'bob' });
    await store.teams.create({ name: 'web', createdBy: 'admin' });
    await store.transaction(async (tx) => {
      expect(await tx.teams.addMember('web', 'p-1')).toBe(true);
      expect(await tx.teams.addMember('web', 'p-1')).toBe(false);
      expect(await tx.teams.teamsOf('p-1')).toEqual(['web']);
    });
  });
});
