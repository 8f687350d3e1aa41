import { expect, it } from 'vitest';
import type { Store } from './store.js';
import { describeEachDatabase } from './testing/test-databases.js';

async function withEnvironments(store: Store, app: string, ...envs: string[]): Promise<void> {
  await store.apps.create({ name: app, createdBy: 'alice' });
  for (const name of envs) {
    await store.environments.create({ app, name, type: 'development', target: 'process', createdBy: 'a' });
  }
}

describeEachDatabase('gateway routes repository', (getStore) => {
  it('replaces the routes of an environment and lists them by app and environment', async () => {
    const store = getStore();
    await withEnvironments(store, 'shop', 'dev', 'prod');
    await withEnvironments(store, 'blog', 'dev');
    await store.routes.replace('shop', 'dev', [
      { workload: 'web', host: 'web.dev.shop.localhost', path: '/', upstream: '127.0.0.1:20000' },
      { workload: 'api', host: 'web.dev.shop.localhost', path: '/api', upstream: '127.0.0.1:20001' },
    ]);
    await store.routes.replace('shop', 'prod', [
      { workload: 'web', host: 'shop.example.com', path: '/', upstream: '127.0.0.1:20002' },
    ]);
    await store.routes.replace('blog', 'dev', [
      { workload: 'web', host: 'blog.localhost', path: '/', upstream: '127.0.0.1:20003' },
    ]);

    expect(await store.routes.list('shop', 'dev')).toEqual([
      {
        app: 'shop',
        env: 'dev',
        workload: 'web',
        host: 'web.dev.shop.localhost',
        path: '/',
        upstream: '127.0.0.1:20000',
      },
      {
        app: 'shop',
        env: 'dev',
        workload: 'api',
        host: 'web.dev.shop.localhost',
        path: '/api',
        upstream: '127.0.0.1:20001',
      },
    ]);
    expect((await store.routes.list('shop')).map((route) => route.env)).toEqual(['dev', 'dev', 'prod']);
    expect((await store.routes.list()).map((route) => `${route.app}/${route.env}`)).toEqual([
      'blog/dev',
      'shop/dev',
      'shop/dev',
      'shop/prod',
    ]);

    // Replacing swaps every route of that environment and no other.
    await store.routes.replace('shop', 'dev', [
      { workload: 'web', host: 'web.dev.shop.localhost', path: '/', upstream: '127.0.0.1:20009' },
    ]);
    expect((await store.routes.list('shop', 'dev')).map((route) => route.upstream)).toEqual([
      '127.0.0.1:20009',
    ]);
    expect(await store.routes.list('shop', 'prod')).toHaveLength(1);
    await store.routes.replace('shop', 'dev', []);
    expect(await store.routes.list('shop', 'dev')).toEqual([]);
    expect(await store.routes.list()).toHaveLength(2);
  });

  it('refuses duplicates and unknown environments, changing nothing', async () => {
    const store = getStore();
    await withEnvironments(store, 'shop', 'dev');
    const route = { workload: 'web', host: 'h', path: '/', upstream: '127.0.0.1:1' };
    await store.routes.replace('shop', 'dev', [route]);
    await expect(
      store.routes.replace('shop', 'dev', [
        { ...route, upstream: '127.0.0.1:2' },
        { ...route, upstream: '127.0.0.1:3' },
      ]),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('more than once') });
    expect((await store.routes.list('shop', 'dev')).map((r) => r.upstream)).toEqual(['127.0.0.1:1']);
    await expect(store.routes.replace('shop', 'ghost', [route])).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('environment "ghost" of app "shop" does not exist'),
    });
    // Clearing a missing environment has nothing to do.
    await store.routes.replace('shop', 'ghost', []);
  });

  it('is all or nothing: a failed replace keeps the old routes', async () => {
    const store = getStore();
    await withEnvironments(store, 'shop', 'dev');
    const route = { workload: 'web', host: 'h', path: '/', upstream: '127.0.0.1:1' };
    await store.routes.replace('shop', 'dev', [route]);
    await expect(
      store.transaction(async (trx) => {
        await trx.routes.replace('shop', 'dev', []);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.routes.list('shop', 'dev')).toHaveLength(1);
  });

  it('go with their environment', async () => {
    const store = getStore();
    await withEnvironments(store, 'shop', 'dev');
    await store.routes.replace('shop', 'dev', [
      { workload: 'web', host: 'h', path: '/', upstream: '127.0.0.1:1' },
    ]);
    await store.environments.delete('shop', 'dev');
    expect(await store.routes.list()).toEqual([]);
  });
});
