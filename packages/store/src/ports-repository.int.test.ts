import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from './open-store.js';
import type { Store } from './store.js';
import {
  createTestStore,
  describeEachDatabase,
  TEST_ENGINES,
  type TestStore,
} from './testing/test-databases.js';

const RANGE = { from: 20000, to: 20009 };

async function withEnvironments(store: Store, ...envs: string[]): Promise<void> {
  await store.apps.create({ name: 'shop', createdBy: 'alice' });
  for (const name of envs) {
    await store.environments.create({
      app: 'shop',
      name,
      type: 'development',
      target: 'process',
      createdBy: 'a',
    });
  }
}

describeEachDatabase('port allocations repository', (getStore) => {
  it('allocates the lowest free ports and keeps them across calls', async () => {
    const store = getStore();
    await withEnvironments(store, 'dev', 'prod');
    const first = await store.ports.allocate(
      'shop',
      'dev',
      [
        { workload: 'web', port: 'http' },
        { workload: 'api', port: 'http' },
      ],
      RANGE,
    );
    expect(first).toEqual([
      { app: 'shop', env: 'dev', workload: 'web', port: 'http', hostPort: 20000 },
      { app: 'shop', env: 'dev', workload: 'api', port: 'http', hostPort: 20001 },
    ]);
    // Existing allocations stay; a new one takes the next port; only wanted ones come back.
    const second = await store.ports.allocate(
      'shop',
      'dev',
      [
        { workload: 'api', port: 'http' },
        { workload: 'api', port: 'metrics' },
        { workload: 'api', port: 'http' },
      ],
      RANGE,
    );
    expect(second.map((allocation) => [allocation.workload, allocation.port, allocation.hostPort])).toEqual([
      ['api', 'http', 20001],
      ['api', 'metrics', 20002],
    ]);
    // Unique across environments.
    const prod = await store.ports.allocate('shop', 'prod', [{ workload: 'web', port: 'http' }], RANGE);
    expect(prod[0]?.hostPort).toBe(20003);
    expect((await store.ports.list('shop', 'dev')).map((allocation) => allocation.hostPort)).toEqual([
      20001, 20002, 20000,
    ]);
    expect(await store.ports.allocate('shop', 'dev', [], RANGE)).toEqual([]);
  });

  it('skips ports the host uses, asking only about unallocated ones', async () => {
    const store = getStore();
    await withEnvironments(store, 'dev', 'prod');
    await store.ports.allocate('shop', 'prod', [{ workload: 'web', port: 'http' }], RANGE);
    const asked: number[] = [];
    const busy = new Set([20001, 20003]);
    const isFree = async (port: number): Promise<boolean> => {
      asked.push(port);
      return !busy.has(port);
    };
    const allocations = await store.ports.allocate(
      'shop',
      'dev',
      [
        { workload: 'web', port: 'http' },
        { workload: 'web', port: 'admin' },
      ],
      RANGE,
      isFree,
    );
    expect(allocations.map((allocation) => allocation.hostPort)).toEqual([20002, 20004]);
    expect(asked).toEqual([20001, 20002, 20003, 20004]);
    // Kept allocations are not asked about again.
    asked.length = 0;
    await store.ports.allocate('shop', 'dev', [{ workload: 'web', port: 'http' }], RANGE, isFree);
    expect(asked).toEqual([]);
  });

  it('searches from startAt and wraps round to the start of the range', async () => {
    const store = getStore();
    await withEnvironments(store, 'dev', 'prod');
    await store.ports.allocate('shop', 'prod', [{ workload: 'web', port: 'http' }], RANGE, undefined, 20009);
    const allocations = await store.ports.allocate(
      'shop',
      'dev',
      [
        { workload: 'web', port: 'http' },
        { workload: 'web', port: 'admin' },
        { workload: 'api', port: 'http' },
      ],
      RANGE,
      undefined,
      20008,
    );
    // 20009 is prod's: after 20008 the search wraps to 20000.
    expect(allocations.map((allocation) => allocation.hostPort)).toEqual([20008, 20000, 20001]);
  });

  it('fails with CONFLICT when the range is used up, allocating nothing', async () => {
    const store = getStore();
    await withEnvironments(store, 'dev', 'prod');
    await store.ports.allocate('shop', 'prod', [{ workload: 'web', port: 'http' }], {
      from: 20000,
      to: 20001,
    });
    await expect(
      store.ports.allocate(
        'shop',
        'dev',
        [
          { workload: 'web', port: 'http' },
          { workload: 'web', port: 'admin' },
        ],
        { from: 20000, to: 20001 },
      ),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(
        /no free host port for port "admin" of workload "web" in environment "dev" of app "shop": the range 20000-20001 is used up/,
      ),
    });
    expect(await store.ports.list('shop', 'dev')).toEqual([]);
    await expect(
      store.ports.allocate('shop', 'dev', [{ workload: 'web', port: 'http' }], RANGE, async () => false),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('checks the range and the environment', async () => {
    const store = getStore();
    await withEnvironments(store, 'dev');
    const wanted = [{ workload: 'web', port: 'http' }];
    for (const range of [
      { from: 20010, to: 20000 },
      { from: 0, to: 10 },
      { from: 1, to: 70000 },
      { from: 1.5, to: 10 },
    ]) {
      await expect(store.ports.allocate('shop', 'dev', wanted, range)).rejects.toMatchObject({
        code: 'INVALID_INPUT',
      });
    }
    await expect(store.ports.allocate('shop', 'ghost', wanted, RANGE)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('environment "ghost" of app "shop" does not exist'),
    });
  });

  it('releases all of an environment, or one workload, freeing the ports', async () => {
    const store = getStore();
    await withEnvironments(store, 'dev', 'prod');
    const wanted = [
      { workload: 'web', port: 'http' },
      { workload: 'api', port: 'http' },
    ];
    await store.ports.allocate('shop', 'dev', wanted, RANGE);
    await store.ports.allocate('shop', 'prod', wanted, RANGE);
    await store.ports.release('shop', 'dev', 'web');
    expect((await store.ports.list('shop', 'dev')).map((allocation) => allocation.workload)).toEqual(['api']);
    await store.ports.release('shop', 'dev');
    expect(await store.ports.list('shop', 'dev')).toEqual([]);
    expect(await store.ports.list('shop', 'prod')).toHaveLength(2);
    // The freed ports are the lowest again.
    const again = await store.ports.allocate('shop', 'dev', [{ workload: 'web', port: 'http' }], RANGE);
    expect(again[0]?.hostPort).toBe(20000);
  });

  it('go with their environment', async () => {
    const store = getStore();
    await withEnvironments(store, 'dev');
    await store.ports.allocate('shop', 'dev', [{ workload: 'web', port: 'http' }], RANGE);
    await store.environments.delete('shop', 'dev');
    expect(await store.ports.list('shop', 'dev')).toEqual([]);
    await withEnvironmentsAgain(store);
    expect(
      (await store.ports.allocate('shop', 'dev', [{ workload: 'x', port: 'p' }], RANGE))[0]?.hostPort,
    ).toBe(20000);
  });

  it('rolls back with a store transaction', async () => {
    const store = getStore();
    await withEnvironments(store, 'dev');
    await expect(
      store.transaction(async (trx) => {
        await trx.ports.allocate('shop', 'dev', [{ workload: 'web', port: 'http' }], RANGE);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.ports.list('shop', 'dev')).toEqual([]);
  });
});

async function withEnvironmentsAgain(store: Store): Promise<void> {
  await store.environments.create({
    app: 'shop',
    name: 'dev',
    type: 'development',
    target: 'process',
    createdBy: 'a',
  });
}

describe.each(TEST_ENGINES)('port allocations across two stores [%s]', (engine) => {
  let test: TestStore | undefined;
  let other: Store | undefined;
  afterEach(async () => {
    await other?.close();
    other = undefined;
    await test?.cleanup();
    test = undefined;
  });

  it('never gives one host port twice when environments allocate at once', async () => {
    test = await createTestStore(engine);
    other = await openStore(test.options);
    const envs = ['e0', 'e1', 'e2', 'e3', 'e4', 'e5'];
    await withEnvironments(test.store, ...envs);
    const stores: [Store, Store] = [test.store, other];
    const results = await Promise.all(
      envs.map((env, index) =>
        (index % 2 === 0 ? stores[0] : stores[1]).ports.allocate(
          'shop',
          env,
          [
            { workload: 'web', port: 'http' },
            { workload: 'web', port: 'admin' },
          ],
          { from: 30000, to: 30099 },
        ),
      ),
    );
    const hostPorts = results.flatMap(
      (allocations) => allocations?.map((allocation) => allocation.hostPort) ?? [],
    );
    expect(hostPorts).toHaveLength(12);
    expect(new Set(hostPorts).size).toBe(12);
    expect(Math.max(...hostPorts)).toBe(30011);
  });

  it('gives one allocation when the same environment allocates from two servers', async () => {
    test = await createTestStore(engine);
    other = await openStore(test.options);
    await withEnvironments(test.store, 'dev');
    const wanted = [{ workload: 'web', port: 'http' }];
    const [one, two] = await Promise.all([
      test.store.ports.allocate('shop', 'dev', wanted, RANGE),
      other.ports.allocate('shop', 'dev', wanted, RANGE),
    ]);
    expect(one).toEqual(two);
    expect(await test.store.ports.list('shop', 'dev')).toHaveLength(1);
  });
});
