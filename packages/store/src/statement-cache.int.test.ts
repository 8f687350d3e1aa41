// An integration test although it needs no server: it loads better-sqlite3, a native module built
// for the Node that installed it, and the unit project also runs on Node 22.
import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { withStatementCache } from './statement-cache.js';

describe('withStatementCache', () => {
  let database: SqliteDatabase.Database | undefined;
  afterEach(() => {
    database?.close();
    database = undefined;
  });

  it('hands out the same statement for the same SQL, until it is pushed out', () => {
    database = new SqliteDatabase(':memory:');
    const cached = withStatementCache(database, 2);
    const first = cached.prepare('select 1 as one');
    expect(cached.prepare('select 1 as one')).toBe(first);
    expect(first.get()).toEqual({ one: 1 });
    cached.prepare('select 2');
    cached.prepare('select 3');
    // Two fit: "select 1" was the least recently used.
    expect(cached.prepare('select 1 as one')).not.toBe(first);
  });

  it('prepares afresh while the cached statement is still iterating', () => {
    database = new SqliteDatabase(':memory:');
    const cached = withStatementCache(database);
    cached.exec('create table t (n integer); insert into t values (1), (2)');
    const statement = cached.prepare('select n from t');
    const rows = statement.iterate();
    rows.next();
    const other = cached.prepare('select n from t');
    expect(other).not.toBe(statement);
    expect(other.all()).toEqual([{ n: 1 }, { n: 2 }]);
    rows.return?.();
  });
});
