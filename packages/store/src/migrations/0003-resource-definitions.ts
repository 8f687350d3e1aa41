/**
 * Resource definitions applied by the platform team, one row per version. Versions are never
 * reused: deleting a definition marks its rows deleted instead of removing them, so a definition
 * applied again under the same name continues the numbering, and an active resource's recorded
 * `(definition, version)` can never come to mean different content.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The primary key is what keeps two concurrent applies from writing the same version.
  await db.schema
    .createTable('resource_definitions')
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('version', 'integer', (column) => column.notNull())
    .addColumn('type', 'text', (column) => column.notNull())
    .addColumn('class', 'text')
    .addColumn('driver', 'text', (column) => column.notNull())
    .addColumn('input_values', 'text', (column) => column.notNull())
    .addColumn('sealed_secrets', 'text', (column) => column.notNull())
    .addColumn('secret_refs', 'text', (column) => column.notNull())
    .addColumn('criteria', 'text', (column) => column.notNull())
    .addColumn('stateful', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('fingerprint', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('created_by', 'text', (column) => column.notNull())
    .addColumn('deleted_at', 'text')
    .addPrimaryKeyConstraint('resource_definitions_pk', ['name', 'version'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('resource_definitions').execute();
}
