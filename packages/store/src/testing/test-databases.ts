/**
 * Runs store tests on every engine Paved supports, each in a database of its own that is
 * removed afterwards. Test-only (excluded from the build); other packages import it as
 * `@paved/store/testing/test-databases`, which vitest maps to this file.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, PavedError, type Clock } from '@paved/core';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe } from 'vitest';
import type { Database } from '../database.js';
import { openDatabase, redact } from '../open-database.js';
import { openStore } from '../open-store.js';
import type { Dialect, Store, StoreOptions } from '../store.js';

/** Every engine a store test runs on. */
export const TEST_ENGINES: readonly Dialect[] = ['sqlite', 'postgres'];

/** Where the tests create and drop their PostgreSQL databases, unless PAVED_TEST_POSTGRES_URL says. */
export const DEFAULT_TEST_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Where a ManualClock of `describeEachDatabase` stands at the start of every test. */
export const TEST_CLOCK_START = '2026-01-01T00:00:00.000Z';

export interface TestStoreOptions {
  /** Time source of the store; the system clock by default. */
  clock?: Clock;
}

export interface TestStore {
  readonly engine: Dialect;
  readonly store: Store;
  /**
   * Options that open the same database again, e.g. for a server under test. `dataDir` is a
   * fresh temporary directory on every engine.
   */
  readonly options: StoreOptions;
  /** Empties every table and puts back what the migrations seeded (the environment types). */
  reset(): Promise<void>;
  /** Closes the store and removes the database and the data directory. Safe to call twice. */
  cleanup(): Promise<void>;
}

/**
 * Creates an empty, migrated store on `engine` in a database of its own: a SQLite file in a
 * temporary directory, or a PostgreSQL database `paved_test_<random>`. Fails (never skips) when
 * PostgreSQL is not reachable.
 *
 * @example
 * const test = await createTestStore('postgres');
 * try { await test.store.apps.create({ name: 'shop', createdBy: 'alice' }); }
 * finally { await test.cleanup(); }
 */
export async function createTestStore(engine: Dialect, options: TestStoreOptions = {}): Promise<TestStore> {
  const dataDir = await mkdtemp(join(tmpdir(), 'paved-store-test-'));
  let dropDatabase = async (): Promise<void> => {};
  try {
    const storeOptions: StoreOptions = {
      dataDir,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    };
    if (engine === 'postgres') {
      const created = await createPostgresDatabase();
      storeOptions.databaseUrl = created.url;
      dropDatabase = created.drop;
    }
    const store = await openStore(storeOptions);
    const snapshot = await takeSnapshot(storeOptions);
    let cleaned = false;
    return {
      engine,
      store,
      options: storeOptions,
      reset: () => restoreSnapshot(storeOptions, snapshot),
      cleanup: async () => {
        if (cleaned) return;
        cleaned = true;
        try {
          await store.close();
        } finally {
          await dropDatabase();
          await rm(dataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await dropDatabase();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Defines the suite `define` once per engine. Each engine gets one database for the whole
 * suite, emptied before every test, and a ManualClock set back to TEST_CLOCK_START before every
 * test, so tests neither see each other's rows nor sleep.
 *
 * @example
 * describeEachDatabase('apps', (getStore, engine, getClock) => {
 *   it('creates', async () => { await getStore().apps.create({ name: 'shop', createdBy: 'a' }); });
 * });
 */
export function describeEachDatabase(
  title: string,
  define: (getStore: () => Store, engine: Dialect, getClock: () => ManualClock) => void,
): void {
  for (const engine of TEST_ENGINES) {
    describe(`${title} [${engine}]`, () => {
      const clock = new ManualClock(TEST_CLOCK_START);
      let testStore: TestStore | undefined;

      beforeAll(async () => {
        testStore = await createTestStore(engine, { clock });
      });
      beforeEach(async () => {
        clock.set(TEST_CLOCK_START);
        await testStore?.reset();
      });
      afterAll(async () => {
        await testStore?.cleanup();
      });

      define(
        () => {
          if (testStore === undefined)
            throw new Error(`the ${engine} test store is not open yet: call getStore() inside a test`);
          return testStore.store;
        },
        engine,
        () => clock,
      );
    });
  }
}

async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = process.env.PAVED_TEST_POSTGRES_URL ?? DEFAULT_TEST_POSTGRES_URL;
  const name = `paved_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (admin) => admin.query(`create database "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin(adminUrl, (admin) => dropDatabase(admin, name)),
  };
}

/** Backends of closed pools linger for a moment after `pool.end()` resolves. */
const DROP_ATTEMPTS = 50;
const DROP_RETRY_DELAY = 100;

async function dropDatabase(admin: pg.Client, name: string): Promise<void> {
  for (let attempt = 1; attempt <= DROP_ATTEMPTS; attempt += 1) {
    try {
      await admin.query(`drop database if exists "${name}"`);
      return;
    } catch (error) {
      // 55006: the database is still in use.
      if (!(error instanceof Error && 'code' in error && error.code === '55006')) throw error;
      await new Promise((resolve) => setTimeout(resolve, DROP_RETRY_DELAY));
    }
  }
  // A test left a connection open: end it rather than leave the database behind.
  await admin.query(`drop database if exists "${name}" with (force)`);
}

async function withAdmin(adminUrl: string, work: (admin: pg.Client) => Promise<unknown>): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
  } catch (error) {
    await admin.end().catch(() => undefined);
    throw new PavedError(
      'UNAVAILABLE',
      `PostgreSQL is not reachable at ${redact(adminUrl)} (${error instanceof Error ? error.message : String(error)}). ` +
        'Store tests run on PostgreSQL as well as SQLite and never skip it: start it with ' +
        '`pg_ctlcluster --skip-systemctl-redirect 15 main start`, or set PAVED_TEST_POSTGRES_URL to an ' +
        'admin connection URL of a server that allows creating databases.',
      { cause: error },
    );
  }
  try {
    await work(admin);
  } finally {
    await admin.end();
  }
}

type Snapshot = Map<string, Record<string, unknown>[]>;

/** A loosely typed view of the database: the snapshot covers whatever tables migrations made. */
type AnyTables = Record<string, Record<string, unknown>>;

async function withDatabase<T>(
  options: StoreOptions,
  work: (db: Kysely<Database>, engine: Dialect) => Promise<T>,
): Promise<T> {
  const { db, dialect } = await openDatabase(options);
  try {
    return await work(db, dialect);
  } finally {
    await db.destroy();
  }
}

/** Rows of every table right after migrating: what `reset` puts back. */
async function takeSnapshot(options: StoreOptions): Promise<Snapshot> {
  return withDatabase(options, async (db) => {
    const snapshot: Snapshot = new Map();
    const loose = db as unknown as Kysely<AnyTables>;
    for (const table of await db.introspection.getTables()) {
      if (table.name.startsWith('paved_migration') || table.isView) continue;
      snapshot.set(table.name, await loose.selectFrom(table.name).selectAll().execute());
    }
    return snapshot;
  });
}

async function restoreSnapshot(options: StoreOptions, snapshot: Snapshot): Promise<void> {
  await withDatabase(options, async (db, engine) => {
    const tables = [...snapshot.keys()];
    await db.transaction().execute(async (trx) => {
      const loose = trx as unknown as Kysely<AnyTables>;
      if (engine === 'postgres') {
        await sql`truncate table ${sql.join(tables.map((table) => sql.table(table)))}`.execute(trx);
      } else {
        // Checked at commit instead of per statement, so tables can be emptied in any order.
        await sql`pragma defer_foreign_keys = on`.execute(trx);
        for (const table of tables) await loose.deleteFrom(table).execute();
      }
      for (const [table, rows] of snapshot) {
        if (rows.length > 0) await loose.insertInto(table).values(rows).execute();
      }
    });
  });
}
