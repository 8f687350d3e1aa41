import { PavedError } from '@paved/core';
import { Migrator, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from './migrations/migrations.js';
import { migrateToLatest } from './migrate-to-latest.js';
import { openDatabase } from './open-database.js';
import { openStore } from './open-store.js';
import type { DeploymentWorkload, Store } from './store.js';
import {
  createTestStore,
  describeEachDatabase,
  TEST_ENGINES,
  type TestStore,
} from './testing/test-databases.js';

const WEB: DeploymentWorkload = {
  name: 'web',
  file: 'web/score.yaml',
  score: 'apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n',
  contexts: { main: 'sha256:aaa' },
  fileSources: {},
  images: {},
};

async function seed(store: Store): Promise<void> {
  await store.apps.create({ name: 'shop', createdBy: 'alice' });
  for (const name of ['dev', 'staging']) {
    await store.environments.create({
      app: 'shop',
      name,
      type: 'development',
      target: 'process',
      createdBy: 'a',
    });
  }
}

async function setCount(store: Store): Promise<number> {
  // Through the repository: a set exists when get finds it; count the ones these tests use.
  let count = 0;
  for (const id of ['set-1', 'set-2']) if ((await store.sets.get('shop', id)) !== undefined) count += 1;
  return count;
}

describeEachDatabase('deployment sets', (getStore, _engine, getClock) => {
  it('stores the set of a deployment once: an identical set reuses the row, a different one adds one', async () => {
    const store = getStore();
    await seed(store);
    await store.deployments.create({
      app: 'shop',
      env: 'dev',
      setId: 'set-1',
      actor: 'alice',
      workloads: [WEB],
    });
    getClock().advance(60_000);
    // The same set again, from another environment and another file name: the first row stays.
    await store.deployments.create({
      app: 'shop',
      env: 'staging',
      setId: 'set-1',
      actor: 'bob',
      workloads: [{ ...WEB, file: 'elsewhere.yaml' }],
    });
    expect(await setCount(store)).toBe(1);
    expect(await store.sets.get('shop', 'set-1')).toEqual({
      app: 'shop',
      id: 'set-1',
      workloads: [WEB],
      createdAt: '2026-01-01T00:00:00.000Z',
      createdBy: 'alice',
    });

    const changed = { ...WEB, contexts: { main: 'sha256:bbb' } };
    await store.deployments.create({
      app: 'shop',
      env: 'dev',
      setId: 'set-2',
      actor: 'carol',
      workloads: [changed],
    });
    expect(await setCount(store)).toBe(2);
    expect((await store.sets.get('shop', 'set-2'))?.workloads).toEqual([changed]);
    expect(await store.sets.get('shop', 'set-3')).toBeUndefined();
  });

  it('puts sets directly, reporting whether it created one, and refuses an unknown app', async () => {
    const store = getStore();
    await seed(store);
    const first = await store.sets.put({ app: 'shop', id: 'set-1', workloads: [WEB], createdBy: 'alice' });
    expect(first.created).toBe(true);
    const again = await store.sets.put({ app: 'shop', id: 'set-1', workloads: [], createdBy: 'bob' });
    expect(again).toEqual({ set: first.set, created: false });
    await expect(
      store.sets.put({ app: 'nope', id: 'set-1', workloads: [WEB], createdBy: 'alice' }),
    ).rejects.toThrow(/app "nope" does not exist/);
  });

  it('goes with its app', async () => {
    const store = getStore();
    await seed(store);
    await store.sets.put({ app: 'shop', id: 'set-1', workloads: [WEB], createdBy: 'alice' });
    for (const env of ['dev', 'staging']) await store.environments.delete('shop', env);
    await store.apps.delete('shop');
    expect(await store.sets.get('shop', 'set-1')).toBeUndefined();
  });

  it('keeps the values versions a deployment pinned, and none for one that pinned none', async () => {
    const store = getStore();
    await seed(store);
    const pinned = await store.deployments.create({
      app: 'shop',
      env: 'dev',
      setId: 'set-1',
      actor: 'alice',
      workloads: [WEB],
      valuesVersions: { app: 3, env: 0 },
    });
    expect(pinned.valuesVersions).toEqual({ app: 3, env: 0 });
    expect((await store.deployments.get('shop', 'dev', pinned.number))?.valuesVersions).toEqual({
      app: 3,
      env: 0,
    });
    const unpinned = await store.deployments.create({
      app: 'shop',
      env: 'dev',
      setId: 'set-1',
      actor: 'alice',
      workloads: [WEB],
    });
    expect(unpinned).not.toHaveProperty('valuesVersions');
  });
});

describeEachDatabase('values restore', (getStore, _engine, getClock) => {
  const shop = { app: 'shop' };
  const dev = { app: 'shop', env: 'dev' };

  it('writes one version equal to the old one, with its note in the history', async () => {
    const store = getStore();
    await seed(store);
    await store.values.change(
      dev,
      {
        set: [
          { key: 'A', value: '1', secret: false },
          { key: 'S', value: 'sealed-1', secret: true },
        ],
      },
      'alice',
    );
    getClock().advance(60_000);
    await store.values.change(
      dev,
      {
        set: [
          { key: 'A', value: '2', secret: false },
          { key: 'B', value: 'new', secret: false },
        ],
        unset: ['S'],
      },
      'bob',
    );
    const restored = await store.values.restore(dev, 1, 'carol', 'restored by a rollback to deployment 1');
    expect(restored).toBe(3);
    expect((await store.values.list(dev)).map(({ key, value, secret }) => ({ key, value, secret }))).toEqual([
      { key: 'A', value: '1', secret: false },
      { key: 'S', value: 'sealed-1', secret: true },
    ]);
    const history = (await store.values.history(dev)).items.filter((change) => change.version === 3);
    expect(history.map(({ key, action, actor, note }) => ({ key, action, actor, note }))).toEqual([
      { key: 'A', action: 'set', actor: 'carol', note: 'restored by a rollback to deployment 1' },
      { key: 'B', action: 'unset', actor: 'carol', note: 'restored by a rollback to deployment 1' },
      { key: 'S', action: 'set', actor: 'carol', note: 'restored by a rollback to deployment 1' },
    ]);
    // Changes by hand have no note.
    expect((await store.values.history(dev)).items.find((change) => change.version === 1)).not.toHaveProperty(
      'note',
    );
  });

  it('writes nothing when the values are already those of the version', async () => {
    const store = getStore();
    await seed(store);
    await store.values.change(shop, { set: [{ key: 'A', value: '1', secret: false }] }, 'alice');
    expect(await store.values.restore(shop, 1, 'carol', 'restored')).toBe(1);
    expect(await store.values.currentVersion(shop)).toBe(1);
    // Version 0 is "no values": restoring it unsets every key.
    expect(await store.values.restore(shop, 0, 'carol', 'restored')).toBe(2);
    expect(await store.values.list(shop)).toEqual([]);
  });

  it('refuses a version the scope never had', async () => {
    const store = getStore();
    await seed(store);
    const error = await store.values.restore(dev, 4, 'carol', 'x').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PavedError);
    expect((error as PavedError).message).toMatch(/has no values version 4: versions go from 0 to 0/);
  });
});

describe.each(TEST_ENGINES)('migration 0006 on a database with deployments [%s]', (engine) => {
  let test: TestStore | undefined;
  afterEach(async () => {
    await test?.cleanup();
    test = undefined;
  });

  it('makes a set of each distinct set of the deployments recorded before, the oldest first', async () => {
    test = await createTestStore(engine);
    await seed(test.store);
    await test.store.close();
    const { db } = await openDatabase(test.options);
    try {
      // Back to the schema before sets existed, with deployments recorded then.
      const migrator = new Migrator({
        db,
        provider: { getMigrations: async () => ({ ...migrations }) },
        migrationTableName: 'paved_migration',
        migrationLockTableName: 'paved_migration_lock',
      });
      const down = await migrator.migrateTo('0005-access-control');
      expect(down.error).toBeUndefined();
      const row = (env: string, number: number, actor: string, workloads: DeploymentWorkload[]) => sql`
        insert into deployments (app, env, number, status, set_id, actor, created_at, steps, workloads)
        values ('shop', ${env}, ${number}, 'succeeded', 'set-1', ${actor}, ${`2026-01-0${number}T00:00:00.000Z`}, '[]', ${JSON.stringify(workloads)})
      `;
      await row('dev', 1, 'alice', [WEB]).execute(db);
      await row('staging', 2, 'bob', [{ ...WEB, file: 'other.yaml' }]).execute(db);
      expect(await migrateToLatest(db)).toEqual(['0006-deployment-sets', '0007-installation']);
    } finally {
      await db.destroy();
    }
    const store = await openStore(test.options);
    try {
      expect(await store.sets.get('shop', 'set-1')).toEqual({
        app: 'shop',
        id: 'set-1',
        workloads: [WEB],
        createdAt: '2026-01-01T00:00:00.000Z',
        createdBy: 'alice',
      });
      // Recorded before pinning: no values versions.
      expect(await store.deployments.get('shop', 'dev', 1)).not.toHaveProperty('valuesVersions');
    } finally {
      await store.close();
    }
  });
});
