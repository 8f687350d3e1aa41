/**
 * Every cell of every table of a Paved database, read with the engine's own client rather than
 * through the store, so tests that search the database for a secret or for a retired master key
 * cannot be fooled by the code they test. Test-only (excluded from the build).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

export interface DatabaseCell {
  table: string;
  column: string;
  /** The cell as text (numbers too); NULLs are left out. */
  value: string;
}

/** The cells of the SQLite database in `dataDir`, or of the PostgreSQL database at `databaseUrl`. */
export async function dumpDatabase(options: {
  dataDir: string;
  databaseUrl?: string;
}): Promise<DatabaseCell[]> {
  return options.databaseUrl === undefined
    ? dumpSqlite(join(options.dataDir, 'paved.db'))
    : dumpPostgres(options.databaseUrl);
}

function dumpSqlite(file: string): DatabaseCell[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as { name: string }[];
    return tables.flatMap(({ name }) =>
      (
        db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`).all() as Record<string, unknown>[]
      ).flatMap((row) => cellsOf(name, row)),
    );
  } finally {
    db.close();
  }
}

async function dumpPostgres(url: string): Promise<DatabaseCell[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    );
    const cells: DatabaseCell[] = [];
    for (const { table_name: name } of tables.rows) {
      const rows = await client.query<Record<string, unknown>>(
        `SELECT * FROM "${name.replaceAll('"', '""')}"`,
      );
      for (const row of rows.rows) cells.push(...cellsOf(name, row));
    }
    return cells;
  } finally {
    await client.end();
  }
}

function cellsOf(table: string, row: Record<string, unknown>): DatabaseCell[] {
  return Object.entries(row)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([column, value]) => ({
      table,
      column,
      value:
        value instanceof Date
          ? value.toISOString()
          : Buffer.isBuffer(value)
            ? value.toString('utf8')
            : String(value),
    }));
}
