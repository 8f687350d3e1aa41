/**
 * Deployments and what they leave running: deployments with their event logs, the resources
 * provisioned for environments, host ports assigned to workloads and the routes the gateway
 * serves. Everything here belongs to one environment and goes when the environment is deleted
 * (the server deprovisions active resources before deleting the environment).
 */
import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The primary key is what keeps two concurrent creates from taking the same number.
  await db.schema
    .createTable('deployments')
    .addColumn('app', 'text', (column) => column.notNull())
    .addColumn('env', 'text', (column) => column.notNull())
    .addColumn('number', 'integer', (column) => column.notNull())
    .addColumn('status', 'text', (column) =>
      column.notNull().check(sqlIn('status', ['queued', 'running', 'succeeded', 'failed', 'cancelled'])),
    )
    .addColumn('set_id', 'text', (column) => column.notNull())
    .addColumn('message', 'text')
    .addColumn('actor', 'text', (column) => column.notNull())
    .addColumn('created_at', 'text', (column) => column.notNull())
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('steps', 'text', (column) => column.notNull())
    .addColumn('workloads', 'text', (column) => column.notNull())
    .addColumn('error', 'text')
    .addColumn('graph', 'text')
    .addColumn('rendered', 'text')
    .addColumn('sealed_runtime_spec', 'text')
    .addPrimaryKeyConstraint('deployments_pk', ['app', 'env', 'number'])
    .addForeignKeyConstraint('deployments_env_fk', ['app', 'env'], 'environments', ['app', 'name'], (fk) =>
      fk.onDelete('cascade'),
    )
    .execute();
  // listByStatus scans by status across environments; claimNext and current by environment.
  await db.schema
    .createIndex('deployments_status_idx')
    .on('deployments')
    .columns(['status', 'created_at'])
    .execute();
  await db.schema
    .createIndex('deployments_env_status_idx')
    .on('deployments')
    .columns(['app', 'env', 'status', 'number'])
    .execute();

  await db.schema
    .createTable('deployment_events')
    .addColumn('app', 'text', (column) => column.notNull())
    .addColumn('env', 'text', (column) => column.notNull())
    .addColumn('deployment', 'integer', (column) => column.notNull())
    .addColumn('seq', 'integer', (column) => column.notNull())
    .addColumn('time', 'text', (column) => column.notNull())
    .addColumn('level', 'text', (column) => column.notNull().check(sqlIn('level', ['info', 'warn', 'error'])))
    .addColumn('type', 'text', (column) => column.notNull())
    .addColumn('workload', 'text')
    .addColumn('message', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('deployment_events_pk', ['app', 'env', 'deployment', 'seq'])
    .addForeignKeyConstraint(
      'deployment_events_deployment_fk',
      ['app', 'env', 'deployment'],
      'deployments',
      ['app', 'env', 'number'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();

  await db.schema
    .createTable('active_resources')
    .addColumn('app', 'text', (column) => column.notNull())
    .addColumn('env', 'text', (column) => column.notNull())
    .addColumn('uid', 'text', (column) => column.notNull())
    .addColumn('type', 'text', (column) => column.notNull())
    .addColumn('class', 'text', (column) => column.notNull())
    .addColumn('res_id', 'text', (column) => column.notNull())
    .addColumn('definition', 'text', (column) => column.notNull())
    .addColumn('definition_version', 'integer', (column) => column.notNull())
    .addColumn('driver', 'text', (column) => column.notNull())
    .addColumn('status', 'text', (column) =>
      column.notNull().check(sqlIn('status', ['provisioning', 'ready', 'failed', 'detached'])),
    )
    .addColumn('state', 'text', (column) => column.notNull())
    .addColumn('outputs', 'text', (column) => column.notNull())
    .addColumn('sealed_secrets', 'text')
    .addColumn('stateful', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('updated_at', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('active_resources_pk', ['app', 'env', 'uid'])
    .addForeignKeyConstraint(
      'active_resources_env_fk',
      ['app', 'env'],
      'environments',
      ['app', 'name'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();

  // host_port is unique across every environment: one host, one listener per port.
  await db.schema
    .createTable('port_allocations')
    .addColumn('app', 'text', (column) => column.notNull())
    .addColumn('env', 'text', (column) => column.notNull())
    .addColumn('workload', 'text', (column) => column.notNull())
    .addColumn('port', 'text', (column) => column.notNull())
    .addColumn('host_port', 'integer', (column) => column.notNull())
    .addPrimaryKeyConstraint('port_allocations_pk', ['app', 'env', 'workload', 'port'])
    .addUniqueConstraint('port_allocations_host_port_uq', ['host_port'])
    .addForeignKeyConstraint(
      'port_allocations_env_fk',
      ['app', 'env'],
      'environments',
      ['app', 'name'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();

  await db.schema
    .createTable('gateway_routes')
    .addColumn('app', 'text', (column) => column.notNull())
    .addColumn('env', 'text', (column) => column.notNull())
    .addColumn('workload', 'text', (column) => column.notNull())
    .addColumn('host', 'text', (column) => column.notNull())
    .addColumn('path', 'text', (column) => column.notNull())
    .addColumn('upstream', 'text', (column) => column.notNull())
    .addPrimaryKeyConstraint('gateway_routes_pk', ['app', 'env', 'workload', 'host', 'path'])
    .addForeignKeyConstraint('gateway_routes_env_fk', ['app', 'env'], 'environments', ['app', 'name'], (fk) =>
      fk.onDelete('cascade'),
    )
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'gateway_routes',
    'port_allocations',
    'active_resources',
    'deployment_events',
    'deployments',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}

/**
 * `column in ('a', 'b')` with literals: DDL cannot take bound parameters. A copy of the one in
 * 0001 rather than an import, so that released migrations never change under each other.
 */
function sqlIn(column: string, values: string[]): Expression<SqlBool> {
  return sql<SqlBool>`${sql.ref(column)} in (${sql.join(values.map((value) => sql.lit(value)))})`;
}
