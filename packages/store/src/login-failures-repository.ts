import type { Selectable } from 'kysely';
import type { LoginFailureTable } from './database.js';
import { optional, timestamp, type RepositoryContext } from './repository-context.js';
import { retryOnRace } from './retry-on-race.js';
import type { LockoutRule, LoginFailureRepository, LoginFailures } from './store.js';

export class KyselyLoginFailureRepository implements LoginFailureRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async get(key: string): Promise<LoginFailures | undefined> {
    const row = await this.#context.db
      .selectFrom('login_failures')
      .selectAll()
      .where('key', '=', key)
      .executeTakeFirst();
    return row === undefined ? undefined : toFailures(row);
  }

  async recordFailure(key: string, at: Date, rule: LockoutRule): Promise<LoginFailures> {
    // Read, count and write in one transaction that takes turns with others on the same key
    // (row lock on PostgreSQL; on SQLite the loser of a race is retried), so concurrent guesses
    // are all counted.
    return retryOnRace(this.#context, async (context) => {
      const current = await context.db
        .selectFrom('login_failures')
        .selectAll()
        .where('key', '=', key)
        .$if(context.dialect === 'postgres', (query) => query.forUpdate())
        .executeTakeFirst();
      const now = at.getTime();
      const windowOver =
        current === undefined || Date.parse(current.first_failure_at) + rule.windowSeconds * 1000 <= now;
      const failures = windowOver ? 1 : (current?.failures ?? 0) + 1;
      const lockedUntil =
        failures >= rule.threshold
          ? timestamp(new Date(now + rule.lockSeconds * 1000))
          : windowOver
            ? null
            : (current?.locked_until ?? null);
      const row: Selectable<LoginFailureTable> = {
        key,
        failures,
        first_failure_at: windowOver || current === undefined ? timestamp(at) : current.first_failure_at,
        locked_until: lockedUntil,
      };
      if (current === undefined) await context.db.insertInto('login_failures').values(row).execute();
      else
        await context.db
          .updateTable('login_failures')
          .set({
            failures: row.failures,
            first_failure_at: row.first_failure_at,
            locked_until: row.locked_until,
          })
          .where('key', '=', key)
          .execute();
      return toFailures(row);
    });
  }

  async clear(key: string): Promise<void> {
    await this.#context.db.deleteFrom('login_failures').where('key', '=', key).execute();
  }
}

function toFailures(row: Selectable<LoginFailureTable>): LoginFailures {
  const lockedUntil = optional(row.locked_until);
  return {
    key: row.key,
    failures: row.failures,
    firstFailureAt: row.first_failure_at,
    ...(lockedUntil === undefined ? {} : { lockedUntil }),
  };
}
