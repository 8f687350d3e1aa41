import { PavedError } from '@paved/core';

/** The constraint violations the repositories turn into PavedErrors. */
export type ConstraintViolation = 'unique' | 'foreign-key';

/**
 * Recognises a constraint violation from either driver. This is the one place that knows their
 * error shapes: better-sqlite3 throws `SqliteError` with `code` like `SQLITE_CONSTRAINT_UNIQUE`;
 * pg throws `DatabaseError` with the SQLSTATE in `code` (23505 unique, 23503 foreign key).
 */
export function constraintViolation(error: unknown): ConstraintViolation | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  switch (error.code) {
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case '23505':
      return 'unique';
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
    case '23503':
      return 'foreign-key';
    default:
      return undefined;
  }
}

/** Whether SQLite gave up waiting for another connection's write lock. */
export function isBusy(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('SQLITE_BUSY')
  );
}

export interface ViolationMessages {
  /** The CONFLICT message for a unique violation, e.g. `app "shop" already exists`. */
  unique?: string;
  /** The error for a foreign-key violation, e.g. a NOT_FOUND naming the missing parent. */
  foreignKey?: PavedError;
}

/**
 * Runs `work` and translates constraint violations into PavedErrors with the given messages;
 * everything else passes through unchanged.
 */
export async function translateViolations<T>(
  messages: ViolationMessages,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const violation = constraintViolation(error);
    if (violation === 'unique' && messages.unique !== undefined) {
      throw new PavedError('CONFLICT', messages.unique, { cause: error });
    }
    if (violation === 'foreign-key' && messages.foreignKey !== undefined) {
      throw new PavedError(messages.foreignKey.code, messages.foreignKey.message, {
        details: messages.foreignKey.details,
        cause: error,
      });
    }
    throw error;
  }
}
