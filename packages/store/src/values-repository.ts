import { PavedError } from '@paved/core';
import type { Kysely } from 'kysely';
import type { Database } from './database.js';
import { constraintViolation, isBusy } from './database-errors.js';
import { decodeCursor, pageSize, toPage } from './pagination.js';
import { inTransaction, timestamp, type RepositoryContext } from './repository-context.js';
import type {
  Dialect,
  ListOptions,
  Page,
  ValueChange,
  ValueEntry,
  ValueRepository,
  ValueScope,
} from './store.js';

/** How often a change is retried after losing a race for its version number. */
const MAX_ATTEMPTS = 20;
/** The longest pause before the first retry, in milliseconds; later ones wait longer. */
const RETRY_DELAY = 10;

export class KyselyValueRepository implements ValueRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async change(
    scope: ValueScope,
    change: { set?: { key: string; value: string; secret: boolean }[]; unset?: string[] },
    actor: string,
    options: { note?: string } = {},
  ): Promise<number> {
    const set = change.set ?? [];
    const unset = change.unset ?? [];
    checkChange(scope, set, unset);
    return this.#retrying((context) => this.#write(context, scope, set, unset, actor, options.note));
  }

  async restore(scope: ValueScope, version: number, actor: string, note: string): Promise<number> {
    return this.#retrying(async (context) => {
      const latest = await lockScope(context, scope);
      checkVersion(scope, version, latest);
      const wanted = await valuesAt(context.db, scope, version);
      const now = new Map((await valuesAt(context.db, scope, latest)).map((entry) => [entry.key, entry]));
      // Secrets compare by ciphertext: equal ciphertext is the same value; a different one is
      // rewritten even if it happens to seal the same value, which only costs a version.
      const set = wanted
        .filter((entry) => {
          const current = now.get(entry.key);
          return current === undefined || current.value !== entry.value || current.secret !== entry.secret;
        })
        .map((entry) => ({ key: entry.key, value: entry.value, secret: entry.secret }));
      const keep = new Set(wanted.map((entry) => entry.key));
      const unset = [...now.keys()].filter((key) => !keep.has(key));
      if (set.length === 0 && unset.length === 0) return latest;
      return this.#insert(context, scope, latest + 1, set, unset, actor, note);
    });
  }

  /** Runs a change in a transaction, again after losing a race for the version number. */
  async #retrying(work: (context: RepositoryContext) => Promise<number>): Promise<number> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await inTransaction(this.#context, work);
      } catch (error) {
        // Only a SQLite writer of another connection can win a race (see lockApp); the loser
        // starts over after a short, random pause. Retrying needs a transaction of our own.
        const lostRace = constraintViolation(error) === 'unique' || isBusy(error);
        if (!lostRace || this.#context.db.isTransaction || attempt >= MAX_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * RETRY_DELAY * attempt));
      }
    }
  }

  async #write(
    context: RepositoryContext,
    scope: ValueScope,
    set: { key: string; value: string; secret: boolean }[],
    unset: string[],
    actor: string,
    note: string | undefined,
  ): Promise<number> {
    const { db } = context;
    const version = (await lockScope(context, scope)) + 1;
    if (unset.length > 0) {
      const current = new Set((await valuesAt(db, scope, version - 1)).map((entry) => entry.key));
      const absent = unset.filter((key) => !current.has(key));
      if (absent.length > 0) {
        throw new PavedError(
          'INVALID_INPUT',
          `cannot unset ${absent.map((key) => `"${key}"`).join(', ')} in ${describeScope(scope)}: not set (see paved values list)`,
          { details: { keys: absent } },
        );
      }
    }

    return this.#insert(context, scope, version, set, unset, actor, note);
  }

  async #insert(
    { db, clock }: RepositoryContext,
    scope: ValueScope,
    version: number,
    set: { key: string; value: string; secret: boolean }[],
    unset: string[],
    actor: string,
    note: string | undefined,
  ): Promise<number> {
    const at = timestamp(clock.now());
    const scopeColumns = { scope_app: scope.app, scope_env: scope.env ?? '' };
    await db
      .insertInto('value_versions')
      .values({ ...scopeColumns, version, actor, created_at: at, note: note ?? null })
      .execute();
    await db
      .insertInto('value_changes')
      .values([
        ...set.map((entry) => ({
          ...scopeColumns,
          version,
          key: entry.key,
          action: 'set' as const,
          secret: entry.secret ? 1 : 0,
          value: entry.value,
        })),
        ...unset.map((key) => ({
          ...scopeColumns,
          version,
          key,
          action: 'unset' as const,
          secret: 0,
          value: null,
        })),
      ])
      .execute();
    return version;
  }

  async list(scope: ValueScope, version?: number): Promise<ValueEntry[]> {
    const latest = await latestVersion(this.#context.db, scope);
    if (version === undefined) return valuesAt(this.#context.db, scope, latest);
    checkVersion(scope, version, latest);
    return valuesAt(this.#context.db, scope, version);
  }

  async currentVersion(scope: ValueScope): Promise<number> {
    return latestVersion(this.#context.db, scope);
  }

  /** Newest version first; within a version, by key. */
  async history(scope: ValueScope, options?: ListOptions): Promise<Page<ValueChange>> {
    const limit = pageSize(options);
    const after =
      options?.after === undefined ? undefined : decodeCursor(options.after, ['number', 'string']);
    const rows = await this.#context.db
      .selectFrom('value_changes as c')
      .innerJoin('value_versions as v', (join) =>
        join
          .onRef('v.scope_app', '=', 'c.scope_app')
          .onRef('v.scope_env', '=', 'c.scope_env')
          .onRef('v.version', '=', 'c.version'),
      )
      .select(['c.version', 'c.key', 'c.action', 'c.secret', 'c.value', 'v.actor', 'v.created_at', 'v.note'])
      .where('c.scope_app', '=', scope.app)
      .where('c.scope_env', '=', scope.env ?? '')
      .$if(after !== undefined, (query) =>
        query.where((eb) => {
          const [version, key] = after ?? [0, ''];
          return eb.or([
            eb('c.version', '<', version),
            eb.and([eb('c.version', '=', version), eb('c.key', '>', key)]),
          ]);
        }),
      )
      .orderBy('c.version', 'desc')
      .orderBy('c.key')
      .limit(limit + 1)
      .execute();
    return toPage(
      rows,
      limit,
      (row): ValueChange => ({
        version: row.version,
        key: row.key,
        action: row.action,
        secret: row.secret !== 0,
        value: row.value ?? undefined,
        actor: row.actor,
        at: row.created_at,
        ...(row.note === null ? {} : { note: row.note }),
      }),
      (row) => [row.version, row.key],
    );
  }

  /**
   * An environment scope removes that environment's values; an app scope removes every value of
   * the app, its environments' included, since it is only called when the app goes away.
   */
  async deleteScope(scope: ValueScope): Promise<void> {
    // Changes go with their versions (foreign key with cascade).
    await this.#context.db
      .deleteFrom('value_versions')
      .where('scope_app', '=', scope.app)
      .$if(scope.env !== undefined, (query) => query.where('scope_env', '=', scope.env ?? ''))
      .execute();
  }
}

/**
 * Locks the scope's app (see lockApp) and returns the scope's latest version.
 *
 * @throws PavedError NOT_FOUND when the app or the environment does not exist.
 */
async function lockScope({ db, dialect }: RepositoryContext, scope: ValueScope): Promise<number> {
  if (!(await lockApp(db, dialect, scope.app))) {
    throw new PavedError('NOT_FOUND', `app "${scope.app}" does not exist`);
  }
  if (scope.env !== undefined) {
    const env = await db
      .selectFrom('environments')
      .select('name')
      .where('app', '=', scope.app)
      .where('name', '=', scope.env)
      .executeTakeFirst();
    if (env === undefined) {
      throw new PavedError('NOT_FOUND', `environment "${scope.env}" of app "${scope.app}" does not exist`);
    }
  }
  return latestVersion(db, scope);
}

function checkVersion(scope: ValueScope, version: number, latest: number): void {
  if (!Number.isInteger(version) || version < 0 || version > latest) {
    throw new PavedError(
      'NOT_FOUND',
      `${describeScope(scope)} has no values version ${version}: versions go from 0 to ${latest}`,
    );
  }
}

/**
 * Locks the app until the transaction ends, so that concurrent changes to any scope of the app
 * take turns and each reads the true latest version. Returns whether the app exists.
 *
 * SQLite needs no lock here: one connection runs its transactions one at a time, and a
 * transaction of another connection that read before we wrote cannot write after us (it fails
 * with SQLITE_BUSY at once, and `change` retries it). Taking SQLite's write lock up front would
 * instead make better-sqlite3 wait synchronously, blocking the event loop.
 */
async function lockApp(db: Kysely<Database>, dialect: Dialect, app: string): Promise<boolean> {
  const row = await db
    .selectFrom('apps')
    .select('name')
    .where('name', '=', app)
    .$if(dialect === 'postgres', (query) => query.forUpdate())
    .executeTakeFirst();
  return row !== undefined;
}

function checkChange(scope: ValueScope, set: { key: string }[], unset: string[]): void {
  if (set.length === 0 && unset.length === 0) {
    throw new PavedError(
      'INVALID_INPUT',
      `nothing to change in ${describeScope(scope)}: give keys to set or unset`,
    );
  }
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const key of [...set.map((entry) => entry.key), ...unset]) {
    if (key === '')
      throw new PavedError('INVALID_INPUT', `an empty key cannot be set or unset in ${describeScope(scope)}`);
    if (seen.has(key)) repeated.add(key);
    seen.add(key);
  }
  if (repeated.size > 0) {
    throw new PavedError(
      'INVALID_INPUT',
      `${[...repeated].map((key) => `"${key}"`).join(', ')} given more than once in one change to ${describeScope(scope)}`,
      { details: { keys: [...repeated] } },
    );
  }
}

async function latestVersion(db: Kysely<Database>, scope: ValueScope): Promise<number> {
  const row = await db
    .selectFrom('value_versions')
    .select((eb) => eb.fn.max('version').as('version'))
    .where('scope_app', '=', scope.app)
    .where('scope_env', '=', scope.env ?? '')
    .executeTakeFirst();
  // max() of no rows is NULL.
  return Number(row?.version ?? 0);
}

/** The latest change of every key up to `version`, keeping those that set it. */
async function valuesAt(db: Kysely<Database>, scope: ValueScope, version: number): Promise<ValueEntry[]> {
  const scopeEnv = scope.env ?? '';
  const latest = db
    .selectFrom('value_changes')
    .select(['key', (eb) => eb.fn.max('version').as('version')])
    .where('scope_app', '=', scope.app)
    .where('scope_env', '=', scopeEnv)
    .where('version', '<=', version)
    .groupBy('key')
    .as('latest');
  const rows = await db
    .selectFrom('value_changes as c')
    .innerJoin(latest, (join) =>
      join.onRef('latest.key', '=', 'c.key').onRef('latest.version', '=', 'c.version'),
    )
    .innerJoin('value_versions as v', (join) =>
      join
        .onRef('v.scope_app', '=', 'c.scope_app')
        .onRef('v.scope_env', '=', 'c.scope_env')
        .onRef('v.version', '=', 'c.version'),
    )
    .select(['c.key', 'c.value', 'c.secret', 'c.version', 'v.actor', 'v.created_at'])
    .where('c.scope_app', '=', scope.app)
    .where('c.scope_env', '=', scopeEnv)
    .where('c.action', '=', 'set')
    .orderBy('c.key')
    .execute();
  return rows.map((row) => ({
    key: row.key,
    value: row.value ?? '',
    secret: row.secret !== 0,
    version: row.version,
    updatedAt: row.created_at,
    updatedBy: row.actor,
  }));
}

function describeScope(scope: ValueScope): string {
  return scope.env === undefined ? `app "${scope.app}"` : `environment "${scope.env}" of app "${scope.app}"`;
}
