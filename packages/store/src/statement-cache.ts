import type SqliteDatabase from 'better-sqlite3';

/** How many distinct SQL texts keep a prepared statement; the least recently used go first. */
export const STATEMENT_CACHE_SIZE = 500;

/**
 * The SQLite database with `prepare` remembering its statements by SQL text. Kysely's SQLite
 * driver prepares every query anew, and compiling SQL is a good part of what a short query costs;
 * the repositories send the same few hundred texts over and over (values travel as parameters).
 * A statement is used by one query at a time: Kysely runs one query per connection at a time, and
 * a statement's `all` and `run` finish before they return.
 */
export function withStatementCache(
  database: SqliteDatabase.Database,
  size = STATEMENT_CACHE_SIZE,
): SqliteDatabase.Database {
  const statements = new Map<string, SqliteDatabase.Statement>();
  const prepare = (sql: string): SqliteDatabase.Statement => {
    const cached = statements.get(sql);
    if (cached !== undefined && !cached.busy) {
      // Most recently used last, so the first key is the one to drop.
      statements.delete(sql);
      statements.set(sql, cached);
      return cached;
    }
    const statement = database.prepare(sql);
    if (cached === undefined) {
      statements.set(sql, statement);
      if (statements.size > size) statements.delete(statements.keys().next().value!);
    }
    return statement;
  };
  return new Proxy(database, {
    get(target, property) {
      if (property === 'prepare') return prepare;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
