import { systemClock } from '@paved/core';
import { KyselyStore } from './kysely-store.js';
import { migrateToLatest } from './migrate-to-latest.js';
import { openDatabase } from './open-database.js';
import type { Store, StoreOptions } from './store.js';

/**
 * Opens the state store: PostgreSQL when `databaseUrl` is a `postgres://` or `postgresql://`
 * URL, otherwise SQLite in `<dataDir>/paved.db`. Migrates the schema to the latest version
 * before returning.
 *
 * @example
 * const store = await openStore({ dataDir: '.paved' });
 * await store.apps.create({ name: 'shop', createdBy: 'admin' });
 * await store.close();
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  const { db, dialect } = await openDatabase(options);
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return new KyselyStore({ db, dialect, clock: options.clock ?? systemClock });
}
