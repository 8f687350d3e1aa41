/**
 * Releases: deployment sets as immutable records of their own, the values versions a deployment
 * pinned when it was submitted, and a note on a values version saying why it was written (e.g. a
 * rollback restored it).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // One row per distinct workload set of an app, never updated: the set id is the content hash,
  // so a row with that id always holds that content. Sets outlive the deployments that ran them
  // (a rollback needs them) and go with their app.
  await db.schema
    .createTable('deployment_sets')
    .addColumn('app', 'text', (column) => column.notNull().references('apps.name').onDelete('cascade'))
    .addColumn('set_id', 'text', (column) => column.notNull())
    .addColumn('workloads', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('created_by', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('deployment_sets_pk', ['app', 'set_id'])
    .execute();

  // NULL for deployments recorded before versions were pinned: they ran with the latest values.
  // SQLite adds one column per statement.
  await db.schema.alterTable('deployments').addColumn('app_values_version', 'integer').execute();
  await db.schema.alterTable('deployments').addColumn('env_values_version', 'integer').execute();

  await db.schema.alterTable('value_versions').addColumn('note', 'text').execute();

  // Deployments recorded before this migration carry their set inline: the oldest one of each
  // set becomes the set's row.
  const rows = await sql<{
    app: string;
    set_id: string;
    workloads: string;
    created_at: string;
    actor: string;
  }>`
    select app, set_id, workloads, created_at, actor from deployments order by app, created_at, env, number
  `.execute(db);
  const seen = new Set<string>();
  for (const row of rows.rows) {
    const key = `${row.app}\n${row.set_id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    await sql`
      insert into deployment_sets (app, set_id, workloads, created_at, created_by)
      values (${row.app}, ${row.set_id}, ${row.workloads}, ${row.created_at}, ${row.actor})
    `.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('value_versions').dropColumn('note').execute();
  await db.schema.alterTable('deployments').dropColumn('env_values_version').execute();
  await db.schema.alterTable('deployments').dropColumn('app_values_version').execute();
  await db.schema.dropTable('deployment_sets').execute();
}
