import { translateViolations } from './database-errors.js';
import type { ActiveResourceTable } from './database.js';
import type { Selectable } from 'kysely';
import { parseJsonColumn } from './json-column.js';
import { environmentNotFound } from './lock-environment.js';
import { optional, timestamp, type RepositoryContext } from './repository-context.js';
import type { ActiveResource, ActiveResourceRepository } from './store.js';

export class KyselyActiveResourceRepository implements ActiveResourceRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async put(resource: Omit<ActiveResource, 'updatedAt'>): Promise<ActiveResource> {
    const row: Selectable<ActiveResourceTable> = {
      app: resource.app,
      env: resource.env,
      uid: resource.uid,
      type: resource.type,
      class: resource.class,
      res_id: resource.resId,
      definition: resource.definition,
      definition_version: resource.definitionVersion,
      driver: resource.driver,
      status: resource.status,
      // `state` is required but may be undefined at run time; JSON has no undefined, so null.
      state: JSON.stringify(resource.state ?? null),
      outputs: JSON.stringify(resource.outputs),
      sealed_secrets: resource.sealedSecrets ?? null,
      stateful: resource.stateful ? 1 : 0,
      updated_at: timestamp(this.#context.clock.now()),
    };
    const { app, env, uid, ...changes } = row;
    await translateViolations({ foreignKey: environmentNotFound(app, env) }, () =>
      this.#context.db
        .insertInto('active_resources')
        .values(row)
        .onConflict((conflict) => conflict.columns(['app', 'env', 'uid']).doUpdateSet(changes))
        .execute(),
    );
    return toResource({ ...changes, app, env, uid });
  }

  async get(app: string, env: string, uid: string): Promise<ActiveResource | undefined> {
    const row = await this.#context.db
      .selectFrom('active_resources')
      .selectAll()
      .where('app', '=', app)
      .where('env', '=', env)
      .where('uid', '=', uid)
      .executeTakeFirst();
    return row === undefined ? undefined : toResource(row);
  }

  async list(app: string, env: string): Promise<ActiveResource[]> {
    const rows = await this.#context.db
      .selectFrom('active_resources')
      .selectAll()
      .where('app', '=', app)
      .where('env', '=', env)
      .orderBy('uid')
      .execute();
    return rows.map(toResource);
  }

  async listByDefinition(definition: string): Promise<ActiveResource[]> {
    const rows = await this.#context.db
      .selectFrom('active_resources')
      .selectAll()
      .where('definition', '=', definition)
      .orderBy('app')
      .orderBy('env')
      .orderBy('uid')
      .execute();
    return rows.map(toResource);
  }

  async delete(app: string, env: string, uid: string): Promise<boolean> {
    const result = await this.#context.db
      .deleteFrom('active_resources')
      .where('app', '=', app)
      .where('env', '=', env)
      .where('uid', '=', uid)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}

function toResource(row: Selectable<ActiveResourceTable>): ActiveResource {
  const what = `resource "${row.uid}" of ${row.app}/${row.env}`;
  return {
    app: row.app,
    env: row.env,
    uid: row.uid,
    type: row.type,
    class: row.class,
    resId: row.res_id,
    definition: row.definition,
    definitionVersion: Number(row.definition_version),
    driver: row.driver,
    status: row.status,
    state: parseJsonColumn(row.state, `state of ${what}`),
    outputs: parseJsonColumn(row.outputs, `outputs of ${what}`) as Record<string, unknown>,
    sealedSecrets: optional(row.sealed_secrets),
    stateful: row.stateful !== 0,
    updatedAt: row.updated_at,
  };
}
