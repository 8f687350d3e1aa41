import { PavedError } from '@paved/core';
import type { Kysely, Selectable } from 'kysely';
import { translateViolations } from './database-errors.js';
import type { Database, TargetTable } from './database.js';
import { parseJsonColumn } from './json-column.js';
import { inTransaction, timestamp, type RepositoryContext } from './repository-context.js';
import type {
  PutTargetResult,
  SecretReference,
  StoredTarget,
  TargetContent,
  TargetRepository,
} from './store.js';

/** Targets, versioned like resource definitions (see migration 0004-targets). */
export class KyselyTargetRepository implements TargetRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async put(target: TargetContent, fingerprint: string, actor: string): Promise<PutTargetResult> {
    if (target.name === '') {
      throw new PavedError('INVALID_INPUT', 'a target needs a name (metadata.name)');
    }
    return inTransaction(this.#context, async ({ db, clock }) => {
      const latest = await latestRow(db, target.name);
      if (latest !== undefined && latest.deleted_at === null && latest.fingerprint === fingerprint) {
        return { target: toTarget(latest), action: 'unchanged' };
      }
      const row: Selectable<TargetTable> = {
        name: target.name,
        version: (latest === undefined ? 0 : Number(latest.version)) + 1,
        type: target.type,
        settings: JSON.stringify(target.settings),
        sealed_secrets: JSON.stringify(target.secrets),
        secret_refs: JSON.stringify(target.secretRefs),
        fingerprint,
        created_at: timestamp(clock.now()),
        created_by: actor,
        deleted_at: null,
      };
      await translateViolations(
        {
          unique: `target "${target.name}" was changed by someone else at the same time; apply it again`,
        },
        () => db.insertInto('targets').values(row).execute(),
      );
      return {
        target: toTarget(row),
        action: latest === undefined || latest.deleted_at !== null ? 'created' : 'updated',
      };
    });
  }

  async get(name: string): Promise<StoredTarget | undefined> {
    const row = await latestRow(this.#context.db, name);
    return row === undefined || row.deleted_at !== null ? undefined : toTarget(row);
  }

  async list(): Promise<StoredTarget[]> {
    const latest = this.#context.db
      .selectFrom('targets')
      .select(['name', (eb) => eb.fn.max('version').as('version')])
      .groupBy('name')
      .as('latest');
    const rows = await this.#context.db
      .selectFrom('targets as t')
      .innerJoin(latest, (join) =>
        join.onRef('latest.name', '=', 't.name').onRef('latest.version', '=', 't.version'),
      )
      .selectAll('t')
      .where('t.deleted_at', 'is', null)
      .orderBy('t.name')
      .execute();
    return rows.map(toTarget);
  }

  async delete(name: string): Promise<boolean> {
    const result = await this.#context.db
      .updateTable('targets')
      .set({ deleted_at: timestamp(this.#context.clock.now()) })
      .where('name', '=', name)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}

async function latestRow(db: Kysely<Database>, name: string): Promise<Selectable<TargetTable> | undefined> {
  return db
    .selectFrom('targets')
    .selectAll()
    .where('name', '=', name)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export function toTarget(row: Selectable<TargetTable>): StoredTarget {
  const what = `target "${row.name}" version ${row.version}`;
  return {
    name: row.name,
    version: Number(row.version),
    type: row.type,
    settings: parseJsonColumn(row.settings, `settings of ${what}`) as Record<string, unknown>,
    secrets: parseJsonColumn(row.sealed_secrets, `sealed secrets of ${what}`) as Record<string, string>,
    secretRefs: parseJsonColumn(row.secret_refs, `secret references of ${what}`) as Record<
      string,
      SecretReference
    >,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}
