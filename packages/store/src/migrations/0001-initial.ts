/**
 * The first schema: apps, environment types (seeded), environments, versioned values,
 * principals, tokens and role grants. Migrations never change once released; later ones add to
 * them.
 */
import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';

/** The env_types table as this migration knows it, frozen so later schema changes can't break it. */
interface SeedTables {
  env_types: {
    name: string;
    position: number;
    description: string | null;
    default_ttl_seconds: number | null;
    default_target: string | null;
    requires_deployer: number;
  };
}

const HOUR = 3600;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('apps')
    .addColumn('name', 'text', (column) => column.primaryKey())
    .addColumn('team', 'text')
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('created_by', 'text', (column) => column.notNull())
    .execute();

  await db.schema
    .createTable('env_types')
    .addColumn('name', 'text', (column) => column.primaryKey())
    .addColumn('position', 'integer', (column) => column.notNull())
    .addColumn('description', 'text')
    .addColumn('default_ttl_seconds', 'integer')
    .addColumn('default_target', 'text')
    .addColumn('requires_deployer', 'integer', (column) => column.notNull().defaultTo(0))
    .execute();

  // No cascade from apps: deleting an app that still has environments must fail, not silently
  // drop them (their resources would be orphaned).
  await db.schema
    .createTable('environments')
    .addColumn('app', 'text', (column) => column.notNull().references('apps.name'))
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('type', 'text', (column) => column.notNull().references('env_types.name'))
    .addColumn('target', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('created_by', 'text', (column) => column.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('cloned_from', 'text')
    .addPrimaryKeyConstraint('environments_pk', ['app', 'name'])
    .execute();
  await db.schema
    .createIndex('environments_expires_at_idx')
    .on('environments')
    .column('expires_at')
    .execute();

  // The primary key is what keeps two concurrent changes from both taking the same version.
  await db.schema
    .createTable('value_versions')
    .addColumn('scope_app', 'text', (column) => column.notNull().references('apps.name').onDelete('cascade'))
    .addColumn('scope_env', 'text', (column) => column.notNull())
    .addColumn('version', 'integer', (column) => column.notNull())
    .addColumn('actor', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('value_versions_pk', ['scope_app', 'scope_env', 'version'])
    .execute();

  await db.schema
    .createTable('value_changes')
    .addColumn('scope_app', 'text', (column) => column.notNull())
    .addColumn('scope_env', 'text', (column) => column.notNull())
    .addColumn('version', 'integer', (column) => column.notNull())
    .addColumn('key', 'text', (column) => column.notNull())
    .addColumn('action', 'text', (column) => column.notNull().check(sqlIn('action', ['set', 'unset'])))
    .addColumn('secret', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('value', 'text')
    .addPrimaryKeyConstraint('value_changes_pk', ['scope_app', 'scope_env', 'version', 'key'])
    .addForeignKeyConstraint(
      'value_changes_version_fk',
      ['scope_app', 'scope_env', 'version'],
      'value_versions',
      ['scope_app', 'scope_env', 'version'],
      (constraint) => constraint.onDelete('cascade'),
    )
    .execute();
  // "Latest value of each key up to version V" scans by scope and key.
  await db.schema
    .createIndex('value_changes_key_idx')
    .on('value_changes')
    .columns(['scope_app', 'scope_env', 'key', 'version'])
    .execute();

  await db.schema
    .createTable('principals')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('kind', 'text', (column) => column.notNull().check(sqlIn('kind', ['user', 'service-account'])))
    .addColumn('name', 'text', (column) => column.notNull().unique())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('disabled', 'integer', (column) => column.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('tokens')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('principal_id', 'text', (column) =>
      column.notNull().references('principals.id').onDelete('cascade'),
    )
    .addColumn('name', 'text', (column) => column.notNull())
    .addColumn('hash', 'text', (column) => column.notNull().unique())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('last_used_at', 'text')
    .addColumn('revoked_at', 'text')
    .addColumn('app', 'text')
    .execute();
  await db.schema.createIndex('tokens_principal_idx').on('tokens').column('principal_id').execute();

  await db.schema
    .createTable('role_grants')
    .addColumn('subject', 'text', (column) => column.notNull())
    .addColumn('role', 'text', (column) => column.notNull())
    .addColumn('scope_kind', 'text', (column) =>
      column.notNull().check(sqlIn('scope_kind', ['org', 'app', 'env-type'])),
    )
    .addColumn('scope_name', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('role_grants_pk', ['subject', 'role', 'scope_kind', 'scope_name'])
    .execute();

  await (db as unknown as Kysely<SeedTables>)
    .insertInto('env_types')
    .values([
      envType('development', 0, 'Day-to-day work of developers'),
      {
        ...envType('preview', 1, 'Short-lived environments, e.g. one per pull request'),
        default_ttl_seconds: 72 * HOUR,
      },
      envType('staging', 2, 'Pre-production checks'),
      { ...envType('production', 3, 'What users use'), requires_deployer: 1 },
    ])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'role_grants',
    'tokens',
    'principals',
    'value_changes',
    'value_versions',
    'environments',
    'env_types',
    'apps',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}

/** `column in ('a', 'b')` with literals: DDL cannot take bound parameters. */
function sqlIn(column: string, values: string[]): Expression<SqlBool> {
  return sql<SqlBool>`${sql.ref(column)} in (${sql.join(values.map((value) => sql.lit(value)))})`;
}

function envType(name: string, position: number, description: string): SeedTables['env_types'] {
  return {
    name,
    position,
    description,
    default_ttl_seconds: null,
    default_target: null,
    requires_deployer: 0,
  };
}
