import { PavedError } from '@paved/core';
import { translateViolations } from './database-errors.js';
import { environmentNotFound } from './lock-environment.js';
import { inTransaction, type RepositoryContext } from './repository-context.js';
import type { GatewayRoute, GatewayRouteRepository } from './store.js';

export class KyselyGatewayRouteRepository implements GatewayRouteRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  /**
   * Replacing with no routes clears the environment's routes, and is a no-op for an environment
   * that does not exist (nothing to clear); routes for a missing environment are NOT_FOUND.
   */
  async replace(app: string, env: string, routes: Omit<GatewayRoute, 'app' | 'env'>[]): Promise<void> {
    checkDuplicates(app, env, routes);
    await inTransaction(this.#context, async ({ db }) => {
      await db.deleteFrom('gateway_routes').where('app', '=', app).where('env', '=', env).execute();
      if (routes.length === 0) return;
      await translateViolations({ foreignKey: environmentNotFound(app, env) }, () =>
        db
          .insertInto('gateway_routes')
          .values(
            routes.map((route) => ({
              app,
              env,
              workload: route.workload,
              host: route.host,
              path: route.path,
              upstream: route.upstream,
            })),
          )
          .execute(),
      );
    });
  }

  /** Every route, or those of one app or one environment; by app, env, host, path, workload. */
  async list(app?: string, env?: string): Promise<GatewayRoute[]> {
    const rows = await this.#context.db
      .selectFrom('gateway_routes')
      .selectAll()
      .$if(app !== undefined, (query) => query.where('app', '=', app ?? ''))
      .$if(env !== undefined, (query) => query.where('env', '=', env ?? ''))
      .orderBy('app')
      .orderBy('env')
      .orderBy('host')
      .orderBy('path')
      .orderBy('workload')
      .execute();
    return rows.map((row) => ({
      app: row.app,
      env: row.env,
      workload: row.workload,
      host: row.host,
      path: row.path,
      upstream: row.upstream,
    }));
  }
}

/** Named here: the primary key violation it would otherwise be could not say which route. */
function checkDuplicates(app: string, env: string, routes: Omit<GatewayRoute, 'app' | 'env'>[]): void {
  const seen = new Set<string>();
  for (const route of routes) {
    const key = JSON.stringify([route.workload, route.host, route.path]);
    if (seen.has(key)) {
      throw new PavedError(
        'INVALID_INPUT',
        `route ${route.host}${route.path} of workload "${route.workload}" is given more than once for environment "${env}" of app "${app}"`,
      );
    }
    seen.add(key);
  }
}
