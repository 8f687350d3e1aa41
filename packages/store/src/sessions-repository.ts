import type { Selectable } from 'kysely';
import type { SessionTable } from './database.js';
import { translateViolations } from './database-errors.js';
import { PavedError } from '@paved/core';
import { precompiled } from './precompiled-query.js';
import { revokeCredential, touchCredential } from './revocable-credential.js';
import { toPrincipal } from './principals-repository.js';
import { normaliseTimestamp, optional, timestamp, type RepositoryContext } from './repository-context.js';
import type { Principal, Session, SessionRepository } from './store.js';

export class KyselySessionRepository implements SessionRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async create(session: Omit<Session, 'createdAt' | 'lastUsedAt' | 'revokedAt'>): Promise<Session> {
    const row: Selectable<SessionTable> = {
      id: session.id,
      principal_id: session.principalId,
      hash: session.hash,
      csrf_hash: session.csrfHash,
      created_at: timestamp(this.#context.clock.now()),
      expires_at: normaliseTimestamp(session.expiresAt, 'expiresAt'),
      last_used_at: null,
      revoked_at: null,
      remote_address: session.remoteAddress ?? null,
    };
    await translateViolations(
      {
        // Never echo the hash: it identifies a live session.
        unique: `session "${session.id}" already exists, or its hash is already in use`,
        foreignKey: new PavedError('NOT_FOUND', `principal "${session.principalId}" does not exist`),
      },
      () => this.#context.db.insertInto('sessions').values(row).execute(),
    );
    return toSession(row);
  }

  async findWithPrincipal(hash: string): Promise<{ session: Session; principal: Principal } | undefined> {
    const [row] = await sessionWithPrincipal(this.#context, [hash]);
    if (row === undefined) return undefined;
    return {
      session: toSession(row),
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

  async touch(id: string, at: Date): Promise<void> {
    await touchCredential(this.#context, 'sessions', id, at);
  }

  async revoke(id: string, at: Date): Promise<boolean> {
    return revokeCredential(this.#context, 'sessions', id, at);
  }

  async revokeAllFor(principalId: string, at: Date): Promise<number> {
    const result = await this.#context.db
      .updateTable('sessions')
      .set({ revoked_at: timestamp(at) })
      .where('principal_id', '=', principalId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}

/** Authentication of a portal request: built once (see precompiled-query.ts). */
const sessionWithPrincipal = precompiled(
  (db, [hash]) =>
    db
      .selectFrom('sessions')
      .innerJoin('principals', 'principals.id', 'sessions.principal_id')
      .selectAll('sessions')
      .select([
        'principals.kind as p_kind',
        'principals.name as p_name',
        'principals.created_at as p_created_at',
        'principals.disabled as p_disabled',
        'principals.password_hash as p_password_hash',
        'principals.app as p_app',
      ])
      .where('sessions.hash', '=', hash),
  ['hash'] as [hash: string],
);

function toSession(row: Selectable<SessionTable>): Session {
  const lastUsedAt = optional(row.last_used_at);
  const revokedAt = optional(row.revoked_at);
  const remoteAddress = optional(row.remote_address);
  return {
    id: row.id,
    principalId: row.principal_id,
    hash: row.hash,
    csrfHash: row.csrf_hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    ...(lastUsedAt === undefined ? {} : { lastUsedAt }),
    ...(revokedAt === undefined ? {} : { revokedAt }),
    ...(remoteAddress === undefined ? {} : { remoteAddress }),
  };
}
