import { DEPLOYMENT_STEPS, PavedError } from '@paved/core';
import type { Kysely, Selectable, Updateable } from 'kysely';
import type { Database, DeploymentEventTable, DeploymentTable } from './database.js';
import { putSet } from './deployment-sets-repository.js';
import { jsonColumn, parseJsonColumn } from './json-column.js';
import { environmentNotFound, lockEnvironment } from './lock-environment.js';
import { decodeCursor, pageSize, toPage } from './pagination.js';
import {
  inTransaction,
  normaliseTimestamp,
  optional,
  timestamp,
  type RepositoryContext,
} from './repository-context.js';
import { retryOnRace } from './retry-on-race.js';
import type {
  Deployment,
  DeploymentEvent,
  DeploymentRepository,
  DeploymentStatus,
  DeploymentStep,
  ListOptions,
  Page,
} from './store.js';

/** The stages every deployment goes through, in order (defined once, in core). */
export const DEPLOYMENT_STEP_NAMES: readonly string[] = DEPLOYMENT_STEPS;

type DeploymentPatch = Parameters<DeploymentRepository['update']>[3];

export class KyselyDeploymentRepository implements DeploymentRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async create(
    deployment: Omit<Deployment, 'number' | 'status' | 'createdAt' | 'steps'> & { steps?: DeploymentStep[] },
  ): Promise<Deployment> {
    const steps =
      deployment.steps ?? DEPLOYMENT_STEP_NAMES.map((name) => ({ name, status: 'pending' as const }));
    return retryOnRace(this.#context, async ({ db, dialect, clock }) => {
      // On PostgreSQL the lock makes creates of one environment take turns; on SQLite a create
      // that lost the race fails on the primary key or with SQLITE_BUSY and is retried.
      await lockEnvironment(db, dialect, deployment.app, deployment.env);
      await putSet(db, timestamp(clock.now()), {
        app: deployment.app,
        id: deployment.setId,
        workloads: deployment.workloads,
        createdBy: deployment.actor,
      });
      const row: Selectable<DeploymentTable> = {
        app: deployment.app,
        env: deployment.env,
        number: (await maxNumber(db, deployment.app, deployment.env)) + 1,
        status: 'queued',
        set_id: deployment.setId,
        message: deployment.message ?? null,
        actor: deployment.actor,
        created_at: timestamp(clock.now()),
        started_at:
          deployment.startedAt === undefined ? null : normaliseTimestamp(deployment.startedAt, 'startedAt'),
        finished_at:
          deployment.finishedAt === undefined
            ? null
            : normaliseTimestamp(deployment.finishedAt, 'finishedAt'),
        steps: JSON.stringify(steps),
        workloads: JSON.stringify(deployment.workloads),
        error: deployment.error ?? null,
        graph: jsonColumn(deployment.graph),
        rendered: jsonColumn(deployment.rendered),
        sealed_runtime_spec: deployment.sealedRuntimeSpec ?? null,
        app_values_version: deployment.valuesVersions?.app ?? null,
        env_values_version: deployment.valuesVersions?.env ?? null,
      };
      await db.insertInto('deployments').values(row).execute();
      return toDeployment(row);
    });
  }

  async get(app: string, env: string, number: number): Promise<Deployment | undefined> {
    const row = await this.#context.db
      .selectFrom('deployments')
      .selectAll()
      .where('app', '=', app)
      .where('env', '=', env)
      .where('number', '=', number)
      .executeTakeFirst();
    return row === undefined ? undefined : toDeployment(row);
  }

  async list(app: string, env: string, options?: ListOptions): Promise<Page<Deployment>> {
    const limit = pageSize(options);
    const after = options?.after === undefined ? undefined : decodeCursor(options.after, ['number']);
    const rows = await this.#context.db
      .selectFrom('deployments')
      .selectAll()
      .where('app', '=', app)
      .where('env', '=', env)
      .$if(after !== undefined, (query) => query.where('number', '<', after?.[0] ?? 0))
      .orderBy('number', 'desc')
      .limit(limit + 1)
      .execute();
    return toPage(rows, limit, toDeployment, (row) => [row.number]);
  }

  async listByStatus(statuses: DeploymentStatus[]): Promise<Deployment[]> {
    if (statuses.length === 0) return [];
    const rows = await this.#context.db
      .selectFrom('deployments')
      .selectAll()
      .where('status', 'in', statuses)
      .orderBy('created_at')
      .orderBy('app')
      .orderBy('env')
      .orderBy('number')
      .execute();
    return rows.map(toDeployment);
  }

  async claimNext(app: string, env: string): Promise<Deployment | undefined> {
    return retryOnRace(this.#context, async ({ db, dialect, clock }) => {
      // The environment lock makes claims of one environment take turns on PostgreSQL; on
      // SQLite a claim that read before another connection's claim committed fails with
      // SQLITE_BUSY when it writes, and its retry sees the running deployment.
      await lockEnvironment(db, dialect, app, env);
      const running = await db
        .selectFrom('deployments')
        .select('number')
        .where('app', '=', app)
        .where('env', '=', env)
        .where('status', '=', 'running')
        .executeTakeFirst();
      if (running !== undefined) return undefined;
      const next = await db
        .selectFrom('deployments')
        .select('number')
        .where('app', '=', app)
        .where('env', '=', env)
        .where('status', '=', 'queued')
        .orderBy('number')
        .limit(1)
        .executeTakeFirst();
      if (next === undefined) return undefined;
      // Conditional, so that a claim that raced past the checks above cannot claim twice.
      const result = await db
        .updateTable('deployments')
        .set({ status: 'running', started_at: timestamp(clock.now()) })
        .where('app', '=', app)
        .where('env', '=', env)
        .where('number', '=', next.number)
        .where('status', '=', 'queued')
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) return undefined;
      return getOrThrow(db, app, env, next.number);
    });
  }

  /** Only the fields given (not undefined) change. */
  async update(app: string, env: string, number: number, patch: DeploymentPatch): Promise<Deployment> {
    const set: Updateable<DeploymentTable> = {};
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.startedAt !== undefined) set.started_at = normaliseTimestamp(patch.startedAt, 'startedAt');
    if (patch.finishedAt !== undefined) set.finished_at = normaliseTimestamp(patch.finishedAt, 'finishedAt');
    if (patch.steps !== undefined) set.steps = JSON.stringify(patch.steps);
    if (patch.error !== undefined) set.error = patch.error;
    if (patch.graph !== undefined) set.graph = jsonColumn(patch.graph);
    if (patch.rendered !== undefined) set.rendered = jsonColumn(patch.rendered);
    if (patch.sealedRuntimeSpec !== undefined) set.sealed_runtime_spec = patch.sealedRuntimeSpec;
    return inTransaction(this.#context, async ({ db }) => {
      if (Object.keys(set).length > 0) {
        await db
          .updateTable('deployments')
          .set(set)
          .where('app', '=', app)
          .where('env', '=', env)
          .where('number', '=', number)
          .execute();
      }
      return getOrThrow(db, app, env, number);
    });
  }

  async current(app: string, env: string): Promise<Deployment | undefined> {
    const row = await this.#context.db
      .selectFrom('deployments')
      .selectAll()
      .where('app', '=', app)
      .where('env', '=', env)
      .where('status', '=', 'succeeded')
      .orderBy('number', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : toDeployment(row);
  }

  async appendEvent(
    event: Omit<DeploymentEvent, 'seq' | 'time'> & { time?: string },
  ): Promise<DeploymentEvent> {
    return retryOnRace(this.#context, async ({ db, dialect, clock }) => {
      // Locking the deployment makes appends to it take turns on PostgreSQL; on SQLite the loser
      // of a race fails on the primary key or with SQLITE_BUSY and is retried.
      const deployment = await db
        .selectFrom('deployments')
        .select('number')
        .where('app', '=', event.app)
        .where('env', '=', event.env)
        .where('number', '=', event.deployment)
        .$if(dialect === 'postgres', (query) => query.forNoKeyUpdate())
        .executeTakeFirst();
      if (deployment === undefined) throw deploymentNotFound(event.app, event.env, event.deployment);
      const last = await db
        .selectFrom('deployment_events')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('app', '=', event.app)
        .where('env', '=', event.env)
        .where('deployment', '=', event.deployment)
        .executeTakeFirst();
      const row: Selectable<DeploymentEventTable> = {
        app: event.app,
        env: event.env,
        deployment: event.deployment,
        // max() of no rows is NULL.
        seq: Number(last?.seq ?? 0) + 1,
        time: event.time === undefined ? timestamp(clock.now()) : normaliseTimestamp(event.time, 'time'),
        level: event.level,
        type: event.type,
        workload: event.workload ?? null,
        message: event.message,
      };
      await db.insertInto('deployment_events').values(row).execute();
      return toEvent(row);
    });
  }

  async events(app: string, env: string, number: number, afterSeq = 0): Promise<DeploymentEvent[]> {
    const rows = await this.#context.db
      .selectFrom('deployment_events')
      .selectAll()
      .where('app', '=', app)
      .where('env', '=', env)
      .where('deployment', '=', number)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .execute();
    return rows.map(toEvent);
  }
}

async function maxNumber(db: Kysely<Database>, app: string, env: string): Promise<number> {
  const row = await db
    .selectFrom('deployments')
    .select((eb) => eb.fn.max('number').as('number'))
    .where('app', '=', app)
    .where('env', '=', env)
    .executeTakeFirst();
  // max() of no rows is NULL.
  return Number(row?.number ?? 0);
}

async function getOrThrow(
  db: Kysely<Database>,
  app: string,
  env: string,
  number: number,
): Promise<Deployment> {
  const row = await db
    .selectFrom('deployments')
    .selectAll()
    .where('app', '=', app)
    .where('env', '=', env)
    .where('number', '=', number)
    .executeTakeFirst();
  if (row === undefined) {
    // Tell a missing environment from a missing deployment: the fix differs.
    const environment = await db
      .selectFrom('environments')
      .select('name')
      .where('app', '=', app)
      .where('name', '=', env)
      .executeTakeFirst();
    throw environment === undefined ? environmentNotFound(app, env) : deploymentNotFound(app, env, number);
  }
  return toDeployment(row);
}

function deploymentNotFound(app: string, env: string, number: number): PavedError {
  return new PavedError(
    'NOT_FOUND',
    `deployment ${number} of environment "${env}" of app "${app}" does not exist (see paved deployments list)`,
  );
}

function toDeployment(row: Selectable<DeploymentTable>): Deployment {
  const what = `deployment ${row.number} of ${row.app}/${row.env}`;
  return {
    app: row.app,
    env: row.env,
    number: Number(row.number),
    status: row.status,
    setId: row.set_id,
    message: optional(row.message),
    actor: row.actor,
    createdAt: row.created_at,
    startedAt: optional(row.started_at),
    finishedAt: optional(row.finished_at),
    steps: parseJsonColumn(row.steps, `steps of ${what}`) as DeploymentStep[],
    workloads: parseJsonColumn(row.workloads, `workloads of ${what}`) as Deployment['workloads'],
    error: optional(row.error),
    graph: parseJsonColumn(row.graph, `graph of ${what}`),
    rendered: parseJsonColumn(row.rendered, `rendered workloads of ${what}`),
    sealedRuntimeSpec: optional(row.sealed_runtime_spec),
    ...(row.app_values_version === null || row.env_values_version === null
      ? {}
      : {
          valuesVersions: {
            app: Number(row.app_values_version),
            env: Number(row.env_values_version),
          },
        }),
  };
}

function toEvent(row: Selectable<DeploymentEventTable>): DeploymentEvent {
  return {
    app: row.app,
    env: row.env,
    deployment: Number(row.deployment),
    seq: Number(row.seq),
    time: row.time,
    level: row.level,
    type: row.type,
    workload: optional(row.workload),
    message: row.message,
  };
}
