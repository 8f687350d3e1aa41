import type { Selectable } from 'kysely';
import type { EnvTypeTable } from './database.js';
import { optional, type RepositoryContext } from './repository-context.js';
import type { EnvType, EnvTypeRepository } from './store.js';

export class KyselyEnvTypeRepository implements EnvTypeRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  /** Ordered by position (order of promotion), then name. */
  async list(): Promise<EnvType[]> {
    const rows = await this.#context.db
      .selectFrom('env_types')
      .selectAll()
      .orderBy('position')
      .orderBy('name')
      .execute();
    return rows.map(toEnvType);
  }

  async get(name: string): Promise<EnvType | undefined> {
    const row = await this.#context.db
      .selectFrom('env_types')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? undefined : toEnvType(row);
  }

  async put(envType: EnvType): Promise<EnvType> {
    const row: Selectable<EnvTypeTable> = {
      name: envType.name,
      position: envType.position,
      description: envType.description ?? null,
      default_ttl_seconds: envType.defaultTtlSeconds ?? null,
      default_target: envType.defaultTarget ?? null,
      requires_deployer: envType.requiresDeployer ? 1 : 0,
    };
    // `on conflict … do update` is spelled the same on SQLite (3.24+) and PostgreSQL.
    await this.#context.db
      .insertInto('env_types')
      .values(row)
      .onConflict((conflict) =>
        conflict.column('name').doUpdateSet({
          position: row.position,
          description: row.description,
          default_ttl_seconds: row.default_ttl_seconds,
          default_target: row.default_target,
          requires_deployer: row.requires_deployer,
        }),
      )
      .execute();
    return toEnvType(row);
  }
}

function toEnvType(row: Selectable<EnvTypeTable>): EnvType {
  return {
    name: row.name,
    position: row.position,
    description: optional(row.description),
    defaultTtlSeconds: optional(row.default_ttl_seconds),
    defaultTarget: optional(row.default_target),
    requiresDeployer: row.requires_deployer !== 0,
  };
}
