import { PavedError } from '@paved/core';
import type { Selectable } from 'kysely';
import type { TokenTable } from './database.js';
import { translateViolations } from './database-errors.js';
import { precompiled } from './precompiled-query.js';
import { revokeCredential, touchCredential } from './revocable-credential.js';
import { toPrincipal } from './principals-repository.js';
import { normaliseTimestamp, optional, timestamp, type RepositoryContext } from './repository-context.js';
import type { Principal, Token, TokenRepository } from './store.js';

export class KyselyTokenRepository implements TokenRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async create(token: Omit<Token, 'createdAt' | 'lastUsedAt' | 'revokedAt'>): Promise<Token> {
    const row: Selectable<TokenTable> = {
      id: token.id,
      principal_id: token.principalId,
      name: token.name,
      hash: token.hash,
      created_at: timestamp(this.#context.clock.now()),
      expires_at: token.expiresAt === undefined ? null : normaliseTimestamp(token.expiresAt, 'expiresAt'),
      last_used_at: null,
      revoked_at: null,
      app: token.app ?? null,
    };
    await translateViolations(
      {
        // The message must not echo the hash: it identifies a live credential.
        unique: `token "${token.name}" (id "${token.id}") already exists, or its hash is already in use`,
        foreignKey: new PavedError('NOT_FOUND', `principal "${token.principalId}" does not exist`),
      },
      () => this.#context.db.insertInto('tokens').values(row).execute(),
    );
    return toToken(row);
  }

  /**
   * Finds the token by its hash whatever its state: callers check `revokedAt` and `expiresAt`
   * against their clock, so the reason for a refusal can be told apart.
   */
  async findByHash(hash: string): Promise<Token | undefined> {
    const row = await this.#context.db
      .selectFrom('tokens')
      .selectAll()
      .where('hash', '=', hash)
      .executeTakeFirst();
    return row === undefined ? undefined : toToken(row);
  }

  async findWithPrincipal(hash: string): Promise<{ token: Token; principal: Principal } | undefined> {
    const [row] = await tokenWithPrincipal(this.#context, [hash]);
    if (row === undefined) return undefined;
    return {
      token: toToken(row),
      principal: toPrincipal({
        id: row.principal_id,
        kind: row.p_kind,
        name: row.p_name,
        created_at: row.p_created_at,
        disabled: row.p_disabled,
        password_hash: row.p_password_hash,
        app: row.p_app,
      }),
    };
  }

  async get(id: string): Promise<Token | undefined> {
    const row = await this.#context.db
      .selectFrom('tokens')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toToken(row);
  }

  async touch(id: string, at: Date): Promise<void> {
    await touchCredential(this.#context, 'tokens', id, at);
  }

  /**
   * Keeps the first revocation time when revoked twice.
   * @returns whether the token exists.
   */
  async revoke(id: string, at: Date): Promise<boolean> {
    return revokeCredential(this.#context, 'tokens', id, at);
  }

  /** Oldest first. */
  async listFor(principalId: string): Promise<Token[]> {
    const rows = await this.#context.db
      .selectFrom('tokens')
      .selectAll()
      .where('principal_id', '=', principalId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toToken);
  }
}

/** Authentication's first query, on every request: built once (see precompiled-query.ts). */
const tokenWithPrincipal = precompiled(
  (db, [hash]) =>
    db
      .selectFrom('tokens')
      .innerJoin('principals', 'principals.id', 'tokens.principal_id')
      .selectAll('tokens')
      .select([
        'principals.kind as p_kind',
        'principals.name as p_name',
        'principals.created_at as p_created_at',
        'principals.disabled as p_disabled',
        'principals.password_hash as p_password_hash',
        'principals.app as p_app',
      ])
      .where('tokens.hash', '=', hash),
  ['hash'] as [hash: string],
);

function toToken(row: Selectable<TokenTable>): Token {
  return {
    id: row.id,
    principalId: row.principal_id,
    name: row.name,
    hash: row.hash,
    createdAt: row.created_at,
    expiresAt: optional(row.expires_at),
    lastUsedAt: optional(row.last_used_at),
    revokedAt: optional(row.revoked_at),
    app: optional(row.app),
  };
}
