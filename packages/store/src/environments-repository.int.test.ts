import { expect, it } from 'vitest';
import { describeEachDatabase } from './testing/test-databases.js';

const HOUR = 3600 * 1000;

describeEachDatabase('environments repository', (getStore, _engine, getClock) => {
  async function withApp(name = 'shop'): Promise<void> {
    await getStore().apps.create({ name, createdBy: 'alice' });
  }

  it('creates, gets, lists and deletes environments', async () => {
    await withApp();
    const store = getStore();
    const dev = await store.environments.create({
      app: 'shop',
      name: 'dev',
      type: 'development',
      target: 'process',
      createdBy: 'alice',
    });
    expect(dev).toEqual({
      app: 'shop',
      name: 'dev',
      type: 'development',
      target: 'process',
      createdAt: '2026-01-01T00:00:00.000Z',
      createdBy: 'alice',
    });
    await store.environments.create({
      app: 'shop',
      name: 'pr-1',
      type: 'preview',
      target: 'docker',
      createdBy: 'bob',
      clonedFrom: 'dev',
      expiresAt: '2026-01-04T00:00:00Z',
    });
    expect(await store.environments.get('shop', 'pr-1')).toMatchObject({
      clonedFrom: 'dev',
      expiresAt: '2026-01-04T00:00:00.000Z',
    });
    expect(await store.environments.get('shop', 'nope')).toBeUndefined();
    expect((await store.environments.list('shop')).items.map((env) => env.name)).toEqual(['dev', 'pr-1']);
    expect((await store.environments.list('other')).items).toEqual([]);

    expect(await store.environments.delete('shop', 'dev')).toBe(true);
    expect(await store.environments.delete('shop', 'dev')).toBe(false);
    expect((await store.environments.list('shop')).items.map((env) => env.name)).toEqual(['pr-1']);
  });

  it('refuses duplicates with CONFLICT and unknown apps or types with NOT_FOUND', async () => {
    await withApp();
    const store = getStore();
    const env = { app: 'shop', name: 'dev', type: 'development', target: 'process', createdBy: 'alice' };
    await store.environments.create(env);
    await expect(store.environments.create(env)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: 'environment "dev" of app "shop" already exists',
    });
    await expect(store.environments.create({ ...env, app: 'ghost' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('app "ghost"'),
    });
    await expect(store.environments.create({ ...env, name: 'qa', type: 'qa' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('environment type "qa"'),
    });
    await expect(
      store.environments.create({ ...env, name: 'x', expiresAt: 'tomorrow' }),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });

  it('pages through environments of an app', async () => {
    await withApp();
    await withApp('blog');
    const store = getStore();
    for (const name of ['e', 'd', 'c', 'b', 'a']) {
      await store.environments.create({
        app: 'shop',
        name,
        type: 'development',
        target: 'process',
        createdBy: 'a',
      });
    }
    await store.environments.create({
      app: 'blog',
      name: 'aa',
      type: 'development',
      target: 'process',
      createdBy: 'a',
    });
    const first = await store.environments.list('shop', { limit: 2 });
    expect(first.items.map((env) => env.name)).toEqual(['a', 'b']);
    const second = await store.environments.list('shop', { limit: 2, after: first.next ?? undefined });
    expect(second.items.map((env) => env.name)).toEqual(['c', 'd']);
    const third = await store.environments.list('shop', { limit: 2, after: second.next ?? undefined });
    expect(third).toEqual({ items: [expect.objectContaining({ name: 'e' })], next: null });
  });

  it('lists environments whose time is up, as the clock moves', async () => {
    await withApp();
    const store = getStore();
    const clock = getClock();
    const expiresIn = (hours: number): string => new Date(clock.now().getTime() + hours * HOUR).toISOString();
    await store.environments.create({
      app: 'shop',
      name: 'dev',
      type: 'development',
      target: 'process',
      createdBy: 'a',
    });
    await store.environments.create({
      app: 'shop',
      name: 'pr-2',
      type: 'preview',
      target: 'process',
      createdBy: 'a',
      expiresAt: expiresIn(72),
    });
    await store.environments.create({
      app: 'shop',
      name: 'pr-1',
      type: 'preview',
      target: 'process',
      createdBy: 'a',
      expiresAt: expiresIn(24),
    });

    expect(await store.environments.listExpired(clock.now())).toEqual([]);
    clock.advance(24 * HOUR);
    expect((await store.environments.listExpired(clock.now())).map((env) => env.name)).toEqual(['pr-1']);
    clock.advance(48 * HOUR - 1);
    expect((await store.environments.listExpired(clock.now())).map((env) => env.name)).toEqual(['pr-1']);
    clock.advance(1);
    expect((await store.environments.listExpired(clock.now())).map((env) => env.name)).toEqual([
      'pr-1',
      'pr-2',
    ]);
  });

  it('takes the values of a deleted environment with it', async () => {
    await withApp();
    const store = getStore();
    const env = { app: 'shop', name: 'dev', type: 'development', target: 'process', createdBy: 'a' };
    await store.environments.create(env);
    await store.values.change(
      { app: 'shop', env: 'dev' },
      { set: [{ key: 'A', value: '1', secret: false }] },
      'a',
    );
    await store.values.change({ app: 'shop' }, { set: [{ key: 'B', value: '2', secret: false }] }, 'a');
    await store.environments.delete('shop', 'dev');
    await store.environments.create(env);
    expect(await store.values.list({ app: 'shop', env: 'dev' })).toEqual([]);
    expect(await store.values.currentVersion({ app: 'shop', env: 'dev' })).toBe(0);
    expect((await store.values.list({ app: 'shop' })).map((entry) => entry.key)).toEqual(['B']);
  });
});
