/**
 * Access control and audit: passwords and owning apps of principals, teams and their members,
 * portal sessions, failed-login counters, and the hash-chained audit log with the one row that
 * serialises appends to it.
 */
import { sql, type Kysely } from 'kysely';

/** The `prev_hash` of the first audit entry: 64 zeros. Frozen here; the store's copy must match. */
const GENESIS_HASH = '0'.repeat(64);

export async function up(db: Kysely<unknown>): Promise<void> {
  // SQLite adds one column per statement.
  await db.schema.alterTable('principals').addColumn('password_hash', 'text').execute();
  // The app a service account belongs to (its owners manage it); NULL for users and the org's own.
  await db.schema.alterTable('principals').addColumn('app', 'text').execute();
  await db.schema.createIndex('principals_app_idx').on('principals').column('app').execute();

  await db.schema
    .createTable('teams')
    .addColumn('name', 'text', (column) => column.primaryKey())
    .addColumn('description', 'text')
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('created_by', 'text', (column) => column.notNull())
    .execute();

  await db.schema
    .createTable('team_members')
    .addColumn('team', 'text', (column) => column.notNull().references('teams.name').onDelete('cascade'))
    .addColumn('principal_id', 'text', (column) =>
      column.notNull().references('principals.id').onDelete('cascade'),
    )
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('team_members_pk', ['team', 'principal_id'])
    .execute();
  // Authentication looks up a principal's teams on every request.
  await db.schema
    .createIndex('team_members_principal_idx')
    .on('team_members')
    .column('principal_id')
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('principal_id', 'text', (column) =>
      column.notNull().references('principals.id').onDelete('cascade'),
    )
    // SHA-256 of the session cookie and of the CSRF token: neither is stored itself.
    .addColumn('hash', 'text', (column) => column.notNull().unique())
    .addColumn('csrf_hash', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('expires_at', 'text', (column) => column.notNull())
    .addColumn('last_used_at', 'text')
    .addColumn('revoked_at', 'text')
    .addColumn('remote_address', 'text')
    .execute();
  await db.schema.createIndex('sessions_principal_idx').on('sessions').column('principal_id').execute();

  // Keyed by what is counted: `user:<name>` or `address:<ip>`.
  await db.schema
    .createTable('login_failures')
    .addColumn('key', 'text', (column) => column.primaryKey())
    .addColumn('failures', 'integer', (column) => column.notNull())
    .addColumn('first_failure_at', 'text', (column) => column.notNull())
    .addColumn('locked_until', 'text')
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'integer', (column) => column.primaryKey())
    .addColumn('at', 'text', (column) => column.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('actor_name', 'text')
    .addColumn('actor_kind', 'text', (column) => column.notNull())
    .addColumn('token_id', 'text')
    .addColumn('action', 'text', (column) => column.notNull())
    .addColumn('permission', 'text')
    .addColumn('object', 'text', (column) => column.notNull())
    .addColumn('app', 'text')
    .addColumn('env', 'text')
    .addColumn('outcome', 'text', (column) => column.notNull())
    .addColumn('status', 'integer')
    .addColumn('remote_address', 'text')
    .addColumn('payload_sha256', 'text')
    .addColumn('request_id', 'text')
    .addColumn('details', 'text')
    .addColumn('prev_hash', 'text', (column) => column.notNull())
    .addColumn('hash', 'text', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('audit_log_app_idx').on('audit_log').columns(['app', 'seq']).execute();
  await db.schema.createIndex('audit_log_actor_idx').on('audit_log').columns(['actor_name', 'seq']).execute();
  await db.schema.createIndex('audit_log_at_idx').on('audit_log').column('at').execute();

  // The head of the chain: one row, locked by every append, so appends take turns and the chain
  // cannot fork. It also remembers the last sequence number, so cutting entries off the end shows.
  await db.schema
    .createTable('audit_head')
    .addColumn('id', 'integer', (column) => column.primaryKey())
    .addColumn('seq', 'integer', (column) => column.notNull())
    .addColumn('hash', 'text', (column) => column.notNull())
    .execute();
  await sql`insert into audit_head (id, seq, hash) values (1, 0, ${GENESIS_HASH})`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['audit_head', 'audit_log', 'login_failures', 'sessions', 'team_members', 'teams']) {
    await db.schema.dropTable(table).execute();
  }
  await db.schema.dropIndex('principals_app_idx').execute();
  await db.schema.alterTable('principals').dropColumn('app').execute();
  await db.schema.alterTable('principals').dropColumn('password_hash').execute();
}
