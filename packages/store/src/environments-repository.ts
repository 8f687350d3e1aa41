import { PavedError } from '@paved/core';
import type { Selectable } from 'kysely';
import type { EnvironmentTable } from './database.js';
import { translateViolations } from './database-errors.js';
import { decodeCursor, pageSize, toPage } from './pagination.js';
import {
  inTransaction,
  normaliseTimestamp,
  optional,
  timestamp,
  type RepositoryContext,
} from './repository-context.js';
import type { Environment, EnvironmentRepository, ListOptions, Page } from './store.js';

export class KyselyEnvironmentRepository implements EnvironmentRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async create(env: Omit<Environment, 'createdAt'>): Promise<Environment> {
    const row: Selectable<EnvironmentTable> = {
      app: env.app,
      name: env.name,
      type: env.type,
      target: env.target,
      created_at: timestamp(this.#context.clock.now()),
      created_by: env.createdBy,
      expires_at: env.expiresAt === undefined ? null : normaliseTimestamp(env.expiresAt, 'expiresAt'),
      cloned_from: env.clonedFrom ?? null,
    };
    return inTransaction(this.#context, async ({ db }) => {
      // Checked first to name what is missing; a foreign-key error could not say which.
      const app = await db.selectFrom('apps').select('name').where('name', '=', env.app).executeTakeFirst();
      if (app === undefined) {
        throw new PavedError(
          'NOT_FOUND',
          `app "${env.app}" does not exist: create it with paved apps create`,
        );
      }
      const type = await db
        .selectFrom('env_types')
        .select('name')
        .where('name', '=', env.type)
        .executeTakeFirst();
      if (type === undefined) {
        throw new PavedError('NOT_FOUND', `environment type "${env.type}" does not exist`);
      }
      await translateViolations(
        {
          unique: `environment "${env.name}" of app "${env.app}" already exists`,
          foreignKey: new PavedError(
            'NOT_FOUND',
            `app "${env.app}" or environment type "${env.type}" is gone`,
          ),
        },
        () => db.insertInto('environments').values(row).execute(),
      );
      return toEnvironment(row);
    });
  }

  async get(app: string, name: string): Promise<Environment | undefined> {
    const row = await this.#context.db
      .selectFrom('environments')
      .selectAll()
      .where('app', '=', app)
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? undefined : toEnvironment(row);
  }

  async list(app: string, options?: ListOptions): Promise<Page<Environment>> {
    const limit = pageSize(options);
    const after = options?.after === undefined ? undefined : decodeCursor(options.after, ['string']);
    const rows = await this.#context.db
      .selectFrom('environments')
      .selectAll()
      .where('app', '=', app)
      .$if(after !== undefined, (query) => query.where('name', '>', after?.[0] ?? ''))
      .orderBy('name')
      .limit(limit + 1)
      .execute();
    return toPage(rows, limit, toEnvironment, (row) => [row.name]);
  }

  /** Soonest expiry first. Text comparison is time order because every timestamp is ISO UTC. */
  async listExpired(now: Date): Promise<Environment[]> {
    const rows = await this.#context.db
      .selectFrom('environments')
      .selectAll()
      .where('expires_at', 'is not', null)
      .where('expires_at', '<=', timestamp(now))
      .orderBy('expires_at')
      .orderBy('app')
      .orderBy('name')
      .execute();
    return rows.map(toEnvironment);
  }

  /** Also removes the environment's values, so a new environment of the same name starts empty. */
  async delete(app: string, name: string): Promise<boolean> {
    return inTransaction(this.#context, async ({ db }) => {
      await db
        .deleteFrom('value_versions')
        .where('scope_app', '=', app)
        .where('scope_env', '=', name)
        .execute();
      const result = await db
        .deleteFrom('environments')
        .where('app', '=', app)
        .where('name', '=', name)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    });
  }
}

function toEnvironment(row: Selectable<EnvironmentTable>): Environment {
  return {
    app: row.app,
    name: row.name,
    type: row.type,
    target: row.target,
    createdAt: row.created_at,
    createdBy: row.created_by,
    expiresAt: optional(row.expires_at),
    clonedFrom: optional(row.cloned_from),
  };
}
