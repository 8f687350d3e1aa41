import { PavedError, type Clock } from '@paved/core';
import type { Kysely } from 'kysely';
import type { Database } from './database.js';
import type { Dialect } from './store.js';

/** What every repository is built from: a database handle (maybe a transaction) and the time. */
export interface RepositoryContext {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  readonly clock: Clock;
}

/** Runs `work` in the context's transaction, or in a new one when it has none. */
export async function inTransaction<T>(
  context: RepositoryContext,
  work: (context: RepositoryContext) => Promise<T>,
): Promise<T> {
  if (context.db.isTransaction) return work(context);
  return context.db.transaction().execute((trx) => work({ ...context, db: trx }));
}

/** The `null` of a nullable column as the `undefined` of an optional property. */
export function optional<T>(value: T | null): T | undefined {
  return value === null ? undefined : value;
}

/** The ISO-8601 form every timestamp column holds. */
export function timestamp(date: Date): string {
  return date.toISOString();
}

/** A caller's timestamp in the stored form, or INVALID_INPUT naming the field. */
export function normaliseTimestamp(value: string, field: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new PavedError('INVALID_INPUT', `${field} must be an ISO-8601 timestamp, not "${value}"`);
  }
  return timestamp(date);
}
