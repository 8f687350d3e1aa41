import { PavedError } from '@paved/core';
import type { Selectable } from 'kysely';
import type { AppTable } from './database.js';
import { constraintViolation, translateViolations } from './database-errors.js';
import { decodeCursor, pageSize, toPage } from './pagination.js';
import { optional, timestamp, type RepositoryContext } from './repository-context.js';
import type { App, AppRepository, ListOptions, Page } from './store.js';

export class KyselyAppRepository implements AppRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async create(app: Omit<App, 'createdAt'>): Promise<App> {
    const row = {
      name: app.name,
      team: app.team ?? null,
      created_at: timestamp(this.#context.clock.now()),
      created_by: app.createdBy,
    };
    await translateViolations({ unique: `app "${app.name}" already exists` }, () =>
      this.#context.db.insertInto('apps').values(row).execute(),
    );
    return toApp(row);
  }

  async get(name: string): Promise<App | undefined> {
    const row = await this.#context.db
      .selectFrom('apps')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? undefined : toApp(row);
  }

  async list(options?: ListOptions): Promise<Page<App>> {
    const limit = pageSize(options);
    const after = options?.after === undefined ? undefined : decodeCursor(options.after, ['string']);
    const rows = await this.#context.db
      .selectFrom('apps')
      .selectAll()
      .$if(after !== undefined, (query) => query.where('name', '>', after?.[0] ?? ''))
      .orderBy('name')
      .limit(limit + 1)
      .execute();
    return toPage(rows, limit, toApp, (row) => [row.name]);
  }

  async delete(name: string): Promise<boolean> {
    try {
      const result = await this.#context.db.deleteFrom('apps').where('name', '=', name).executeTakeFirst();
      return result.numDeletedRows > 0n;
    } catch (error) {
      // Environments reference their app without cascading; the server refuses first, this is
      // the backstop.
      if (constraintViolation(error) === 'foreign-key') {
        throw new PavedError(
          'CONFLICT',
          `app "${name}" still has environments: delete them first (paved envs list ${name})`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

function toApp(row: Selectable<AppTable>): App {
  return {
    name: row.name,
    team: optional(row.team),
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}
