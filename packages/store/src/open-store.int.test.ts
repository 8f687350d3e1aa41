import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PavedError } from '@paved/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { migrateToLatest } from './migrate-to-latest.js';
import { openDatabase } from './open-database.js';
import { openStore } from './open-store.js';
import {
  createTestStore,
  describeEachDatabase,
  TEST_ENGINES,
  type TestStore,
} from './testing/test-databases.js';

describe.each(TEST_ENGINES)('opening the store [%s]', (engine) => {
  let test: TestStore | undefined;
  afterEach(async () => {
    await test?.cleanup();
    test = undefined;
  });

  it('migrates once: opening again applies nothing and keeps the data', async () => {
    test = await createTestStore(engine);
    expect(test.store.dialect).toBe(engine);
    await test.store.apps.create({ name: 'shop', createdBy: 'alice' });

    const again = await openStore(test.options);
    try {
      expect(await again.apps.get('shop')).toMatchObject({ name: 'shop' });
      expect(await again.envTypes.list()).toHaveLength(4);
    } finally {
      await again.close();
    }

    const { db } = await openDatabase(test.options);
    try {
      expect(await migrateToLatest(db)).toEqual([]);
    } finally {
      await db.destroy();
    }
  });

  it('names the installation once: the same id on every opening and in transactions, another for another store', async () => {
    test = await createTestStore(engine);
    const id = await test.store.installationId();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const again = await openStore(test.options);
    try {
      expect(await again.installationId()).toBe(id);
      expect(await again.transaction((trx) => trx.installationId())).toBe(id);
    } finally {
      await again.close();
    }
    const other = await createTestStore(engine);
    try {
      expect(await other.store.installationId()).not.toBe(id);
    } finally {
      await other.cleanup();
    }
  });

  it('migrates a fresh database to the latest version', async () => {
    test = await createTestStore(engine);
    const { db } = await openDatabase(test.options);
    try {
      const tables = (await db.introspection.getTables()).map((table) => table.name);
      expect(tables).toEqual(
        expect.arrayContaining([
          'apps',
          'env_types',
          'environments',
          'value_versions',
          'value_changes',
          'principals',
          'tokens',
          'role_grants',
          'deployments',
          'deployment_events',
          'active_resources',
          'port_allocations',
          'gateway_routes',
        ]),
      );
    } finally {
      await db.destroy();
    }
  });
});

describe('choosing the database', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('puts SQLite in <dataDir>/paved.db, creating the directory', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'paved-store-open-'));
    dirs.push(parent);
    const dataDir = join(parent, 'data');
    const store = await openStore({ dataDir });
    try {
      expect(store.dialect).toBe('sqlite');
      expect(existsSync(join(dataDir, 'paved.db'))).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('rejects a URL of an unsupported database', async () => {
    await expect(
      openStore({ dataDir: '/nonexistent', databaseUrl: 'mysql://root@localhost/paved' }),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });

  it('says which PostgreSQL it could not reach, without the password', async () => {
    const error = await openStore({
      dataDir: '/nonexistent',
      databaseUrl: 'postgresql://paved:hunter2@127.0.0.1:1/paved',
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PavedError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE' });
    expect((error as PavedError).message).toContain('127.0.0.1:1');
    expect((error as PavedError).message).not.toContain('hunter2');
  });
});

describe('test databases', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('fail loudly, saying how to start PostgreSQL, when it is not reachable', async () => {
    vi.stubEnv('PAVED_TEST_POSTGRES_URL', 'postgres://postgres@127.0.0.1:1/postgres');
    await expect(createTestStore('postgres')).rejects.toThrow(
      /pg_ctlcluster --skip-systemctl-redirect 15 main start/,
    );
  });

  it('drop their PostgreSQL database on cleanup', async () => {
    const test = await createTestStore('postgres');
    const name = new URL(test.options.databaseUrl ?? '').pathname.slice(1);
    expect(name).toMatch(/^paved_test_[0-9a-f]+$/);
    await test.cleanup();
    await test.cleanup();
    await expect(openStore(test.options)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});

describeEachDatabase('environment types', (getStore) => {
  it('are seeded in order of promotion', async () => {
    expect(await getStore().envTypes.list()).toEqual([
      expect.objectContaining({ name: 'development', position: 0, requiresDeployer: false }),
      expect.objectContaining({
        name: 'preview',
        position: 1,
        defaultTtlSeconds: 72 * 3600,
        requiresDeployer: false,
      }),
      expect.objectContaining({ name: 'staging', position: 2, requiresDeployer: false }),
      expect.objectContaining({ name: 'production', position: 3, requiresDeployer: true }),
    ]);
    expect((await getStore().envTypes.get('development'))?.defaultTtlSeconds).toBeUndefined();
    expect(await getStore().envTypes.get('qa')).toBeUndefined();
  });

  it('are created and replaced by put', async () => {
    const store = getStore();
    const qa = await store.envTypes.put({
      name: 'qa',
      position: 2,
      requiresDeployer: false,
      defaultTarget: 'docker',
    });
    expect(await store.envTypes.get('qa')).toEqual(qa);
    await store.envTypes.put({
      name: 'preview',
      position: 1,
      defaultTtlSeconds: 3600,
      requiresDeployer: true,
    });
    expect(await store.envTypes.get('preview')).toEqual({
      name: 'preview',
      position: 1,
      defaultTtlSeconds: 3600,
      requiresDeployer: true,
    });
    expect((await store.envTypes.list()).map((type) => type.name)).toEqual([
      'development',
      'preview',
      'qa',
      'staging',
      'production',
    ]);
  });
});
