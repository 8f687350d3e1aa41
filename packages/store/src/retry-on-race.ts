import { constraintViolation, isBusy } from './database-errors.js';
import { inTransaction, type RepositoryContext } from './repository-context.js';

/** How often a transaction is retried after losing a race. */
const MAX_ATTEMPTS = 20;
/** The longest pause before the first retry, in milliseconds; later ones wait longer. */
const RETRY_DELAY = 10;

/**
 * Runs `work` in a transaction and runs it again, after a short random pause, when it lost a race
 * to another connection: a unique violation (both picked the same next number or host port) or,
 * on SQLite, SQLITE_BUSY (another connection wrote after this transaction read; SQLite fails it
 * at once rather than let it write on stale reads). The retry reads afresh and so decides anew.
 *
 * Inside a caller's transaction there is nothing to retry with, since that transaction is spoiled;
 * the error goes to the caller.
 *
 * On SQLite `work` must read before it writes: a transaction whose first statement writes waits
 * for the write lock in better-sqlite3's synchronous busy handler, blocking the event loop.
 */
export async function retryOnRace<T>(
  context: RepositoryContext,
  work: (context: RepositoryContext) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await inTransaction(context, work);
    } catch (error) {
      const lostRace = constraintViolation(error) === 'unique' || isBusy(error);
      if (!lostRace || context.db.isTransaction || attempt >= MAX_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * RETRY_DELAY * attempt));
    }
  }
}
