import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PavedError } from '@paved/core';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from './database.js';
import { withStatementCache } from './statement-cache.js';
import type { Dialect, StoreOptions } from './store.js';

/** The SQLite file's name inside the data directory. */
export const SQLITE_FILE_NAME = 'paved.db';

/** How long SQLite waits for another connection's write lock before failing, in milliseconds. */
const SQLITE_BUSY_TIMEOUT = 5000;

export interface OpenDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
}

/** Whether `databaseUrl` selects PostgreSQL. */
export function isPostgresUrl(databaseUrl: string | undefined): databaseUrl is string {
  return databaseUrl !== undefined && /^postgres(ql)?:\/\//.test(databaseUrl);
}

/**
 * Connects to the database the options name, without migrating it, and checks that it answers.
 * The dialect is chosen here and only here; everything else is dialect-agnostic.
 */
export async function openDatabase(options: StoreOptions): Promise<OpenDatabase> {
  const url = options.databaseUrl;
  if (url !== undefined && url !== '' && !isPostgresUrl(url)) {
    throw new PavedError(
      'INVALID_INPUT',
      `database URL "${redact(url)}" is not supported: use postgres://… or postgresql://…, or leave it unset for SQLite in the data directory`,
    );
  }
  return isPostgresUrl(url) ? openPostgres(url) : openSqlite(options.dataDir);
}

async function openSqlite(dataDir: string): Promise<OpenDatabase> {
  const file = join(dataDir, SQLITE_FILE_NAME);
  let database: SqliteDatabase.Database;
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    database = new SqliteDatabase(file, { timeout: SQLITE_BUSY_TIMEOUT });
    // WAL lets readers work while one writer writes; foreign keys are off by default in SQLite.
    database.pragma('journal_mode = WAL');
    database.pragma('foreign_keys = ON');
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT}`);
  } catch (error) {
    throw new PavedError(
      'UNAVAILABLE',
      `cannot open the SQLite database ${file}: ${messageOf(error)} (check that the data directory is writable, or set --data-dir)`,
      { cause: error },
    );
  }
  return {
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) }),
    dialect: 'sqlite',
  };
}

async function openPostgres(url: string): Promise<OpenDatabase> {
  const pool = new pg.Pool({ connectionString: url });
  // An idle connection the server ends (restart, failover, admin command) emits 'error' on the
  // pool; unheard, that would crash the process. The pool drops the connection and the next
  // query opens a new one, so there is nothing more to do here.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy();
    throw new PavedError(
      'UNAVAILABLE',
      `cannot connect to PostgreSQL at ${redact(url)}: ${messageOf(error)} (check PAVED_DATABASE_URL / --database-url and that the server is running)`,
      { cause: error },
    );
  }
  return { db, dialect: 'postgres' };
}

/** The URL without its password, fit for messages and logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return messageOf(error.errors[0]);
  return error instanceof Error ? error.message : String(error);
}
