/**
 * The installation: one row naming this Paved installation, made when its store is created. Every
 * server on the store (replicas, a restarted or restored one) is the same installation; two stores
 * are two installations, even on one container engine with the same target names, and the docker
 * target labels what it creates with this id so that neither touches the other's objects.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('installation')
    .addColumn('id', 'text', (column) => column.notNull().primaryKey())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .execute();
  // Migrations run once per store, under the migrator's lock: exactly one row, never changed.
  await (db as Kysely<{ installation: { id: string; created_at: string } }>)
    .insertInto('installation')
    .values({ id: randomUUID(), created_at: new Date().toISOString() })
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('installation').execute();
}
