import { PavedError } from '@paved/core';
import { Migrator, type Kysely } from 'kysely';
import type { Database } from './database.js';
import { migrations } from './migrations/migrations.js';

/**
 * Brings the schema up to the newest migration this build knows; a no-op when it is already
 * there. Safe to run from several servers at once: Kysely holds a lock table row while migrating
 * (on SQLite the single writer does the same job).
 *
 * @returns the names of the migrations applied by this call.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...migrations }) },
    migrationTableName: 'paved_migration',
    migrationLockTableName: 'paved_migration_lock',
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error');
    const message = error instanceof Error ? error.message : JSON.stringify(error);
    throw new PavedError(
      'INTERNAL',
      failed === undefined
        ? `cannot migrate the database: ${message} (a database written by a newer Paved needs that version)`
        : `database migration "${failed.migrationName}" failed: ${message}`,
      { cause: error },
    );
  }
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
