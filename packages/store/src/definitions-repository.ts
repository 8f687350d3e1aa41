import { PavedError, type Criteria } from '@paved/core';
import type { Kysely, Selectable } from 'kysely';
import { translateViolations } from './database-errors.js';
import type { Database, ResourceDefinitionTable } from './database.js';
import { parseJsonColumn } from './json-column.js';
import { inTransaction, optional, timestamp, type RepositoryContext } from './repository-context.js';
import type {
  PutDefinitionResult,
  ResourceDefinitionContent,
  ResourceDefinitionRepository,
  SecretReference,
  StoredResourceDefinition,
} from './store.js';

export class KyselyResourceDefinitionRepository implements ResourceDefinitionRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async put(
    definition: ResourceDefinitionContent,
    fingerprint: string,
    actor: string,
  ): Promise<PutDefinitionResult> {
    if (definition.name === '') {
      throw new PavedError('INVALID_INPUT', 'a resource definition needs a name (metadata.name)');
    }
    return inTransaction(this.#context, async ({ db, clock }) => {
      const latest = await latestRow(db, definition.name);
      if (latest !== undefined && latest.deleted_at === null && latest.fingerprint === fingerprint) {
        return { definition: toDefinition(latest), action: 'unchanged' };
      }
      const row: Selectable<ResourceDefinitionTable> = {
        name: definition.name,
        version: (latest === undefined ? 0 : Number(latest.version)) + 1,
        type: definition.type,
        class: definition.class ?? null,
        driver: definition.driver,
        input_values: JSON.stringify(definition.inputs.values),
        sealed_secrets: JSON.stringify(definition.inputs.secrets),
        secret_refs: JSON.stringify(definition.secretRefs),
        criteria: JSON.stringify(definition.criteria),
        stateful: definition.stateful === true ? 1 : 0,
        fingerprint,
        created_at: timestamp(clock.now()),
        created_by: actor,
        deleted_at: null,
      };
      await translateViolations(
        {
          unique: `resource definition "${definition.name}" was changed by someone else at the same time; apply it again`,
        },
        () => db.insertInto('resource_definitions').values(row).execute(),
      );
      return {
        definition: toDefinition(row),
        action: latest === undefined || latest.deleted_at !== null ? 'created' : 'updated',
      };
    });
  }

  async get(name: string): Promise<StoredResourceDefinition | undefined> {
    const row = await latestRow(this.#context.db, name);
    return row === undefined || row.deleted_at !== null ? undefined : toDefinition(row);
  }

  async list(): Promise<StoredResourceDefinition[]> {
    const latest = this.#context.db
      .selectFrom('resource_definitions')
      .select(['name', (eb) => eb.fn.max('version').as('version')])
      .groupBy('name')
      .as('latest');
    const rows = await this.#context.db
      .selectFrom('resource_definitions as d')
      .innerJoin(latest, (join) =>
        join.onRef('latest.name', '=', 'd.name').onRef('latest.version', '=', 'd.version'),
      )
      .selectAll('d')
      .where('d.deleted_at', 'is', null)
      .orderBy('d.name')
      .execute();
    return rows.map(toDefinition);
  }

  async delete(name: string): Promise<boolean> {
    const result = await this.#context.db
      .updateTable('resource_definitions')
      .set({ deleted_at: timestamp(this.#context.clock.now()) })
      .where('name', '=', name)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}

async function latestRow(
  db: Kysely<Database>,
  name: string,
): Promise<Selectable<ResourceDefinitionTable> | undefined> {
  return db
    .selectFrom('resource_definitions')
    .selectAll()
    .where('name', '=', name)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export function toDefinition(row: Selectable<ResourceDefinitionTable>): StoredResourceDefinition {
  const what = `resource definition "${row.name}" version ${row.version}`;
  const className = optional(row.class);
  return {
    name: row.name,
    version: Number(row.version),
    type: row.type,
    ...(className === undefined ? {} : { class: className }),
    driver: row.driver,
    inputs: {
      values: parseJsonColumn(row.input_values, `input values of ${what}`) as Record<string, unknown>,
      secrets: parseJsonColumn(row.sealed_secrets, `sealed secrets of ${what}`) as Record<string, string>,
    },
    secretRefs: parseJsonColumn(row.secret_refs, `secret references of ${what}`) as Record<
      string,
      SecretReference
    >,
    criteria: parseJsonColumn(row.criteria, `criteria of ${what}`) as Criteria[],
    ...(row.stateful !== 0 ? { stateful: true } : {}),
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}
