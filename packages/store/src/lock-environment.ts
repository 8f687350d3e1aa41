import { PavedError } from '@paved/core';
import type { Kysely } from 'kysely';
import type { Database } from './database.js';
import type { Dialect } from './store.js';

/**
 * Reads the environment's row, on PostgreSQL locking it until the transaction ends, so that
 * transactions that number or claim the environment's deployments or allocate its ports take
 * turns. `for no key update` rather than `for update`: inserting rows that reference the
 * environment (foreign keys take `for key share`) need not wait for it.
 *
 * SQLite needs no lock: a connection runs one transaction at a time, and another connection that
 * read before we wrote fails with SQLITE_BUSY when it writes (see retryOnRace). The read also
 * makes the transaction read first, as retryOnRace needs.
 *
 * @throws PavedError NOT_FOUND when the environment does not exist.
 */
export async function lockEnvironment(
  db: Kysely<Database>,
  dialect: Dialect,
  app: string,
  env: string,
): Promise<void> {
  const row = await db
    .selectFrom('environments')
    .select('name')
    .where('app', '=', app)
    .where('name', '=', env)
    .$if(dialect === 'postgres', (query) => query.forNoKeyUpdate())
    .executeTakeFirst();
  if (row === undefined) throw environmentNotFound(app, env);
}

export function environmentNotFound(app: string, env: string): PavedError {
  return new PavedError(
    'NOT_FOUND',
    `environment "${env}" of app "${app}" does not exist: create it with paved envs create, or check the names`,
  );
}
