import { PavedError } from '@paved/core';
import type { Kysely, Selectable } from 'kysely';
import type { Database, DeploymentSetTable } from './database.js';
import { parseJsonColumn } from './json-column.js';
import { retryOnRace } from './retry-on-race.js';
import { timestamp, type RepositoryContext } from './repository-context.js';
import type { DeploymentSet, DeploymentSetRepository } from './store.js';

export class KyselyDeploymentSetRepository implements DeploymentSetRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async put(set: Omit<DeploymentSet, 'createdAt'>): Promise<{ set: DeploymentSet; created: boolean }> {
    return retryOnRace(this.#context, async ({ db, clock }) => {
      const app = await db.selectFrom('apps').select('name').where('name', '=', set.app).executeTakeFirst();
      if (app === undefined) {
        throw new PavedError('NOT_FOUND', `app "${set.app}" does not exist; create it first`);
      }
      return putSet(db, timestamp(clock.now()), set);
    });
  }

  async get(app: string, id: string): Promise<DeploymentSet | undefined> {
    const row = await this.#context.db
      .selectFrom('deployment_sets')
      .selectAll()
      .where('app', '=', app)
      .where('set_id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toSet(row);
  }
}

/**
 * Stores the set unless the app has it (within the caller's transaction, which must already have
 * read: see `retryOnRace`). The id is a content hash, so an existing row is never rewritten.
 */
export async function putSet(
  db: Kysely<Database>,
  at: string,
  set: Omit<DeploymentSet, 'createdAt'>,
): Promise<{ set: DeploymentSet; created: boolean }> {
  const existing = await db
    .selectFrom('deployment_sets')
    .selectAll()
    .where('app', '=', set.app)
    .where('set_id', '=', set.id)
    .executeTakeFirst();
  if (existing !== undefined) return { set: toSet(existing), created: false };
  const row: Selectable<DeploymentSetTable> = {
    app: set.app,
    set_id: set.id,
    workloads: JSON.stringify(set.workloads),
    created_at: at,
    created_by: set.createdBy,
  };
  await db.insertInto('deployment_sets').values(row).execute();
  return { set: toSet(row), created: true };
}

function toSet(row: Selectable<DeploymentSetTable>): DeploymentSet {
  return {
    app: row.app,
    id: row.set_id,
    workloads: parseJsonColumn(
      row.workloads,
      `workloads of set ${row.set_id} of app ${row.app}`,
    ) as DeploymentSet['workloads'],
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}
