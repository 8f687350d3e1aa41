import { PavedError } from '@paved/core';
import type { Selectable } from 'kysely';
import type { PrincipalTable } from './database.js';
import { translateViolations } from './database-errors.js';
import { decodeCursor, pageSize, toPage } from './pagination.js';
import { optional, timestamp, type RepositoryContext } from './repository-context.js';
import type { ListOptions, Page, Principal, PrincipalRepository } from './store.js';

export class KyselyPrincipalRepository implements PrincipalRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async create(
    principal: Omit<Principal, 'createdAt' | 'disabled' | 'hasPassword'> & { passwordHash?: string },
  ): Promise<Principal> {
    if (principal.app !== undefined && principal.kind !== 'service-account') {
      throw new PavedError(
        'INVALID_INPUT',
        `only service accounts belong to an app; "${principal.name}" is a ${principal.kind}`,
      );
    }
    const row: Selectable<PrincipalTable> = {
      id: principal.id,
      kind: principal.kind,
      name: principal.name,
      created_at: timestamp(this.#context.clock.now()),
      disabled: 0,
      password_hash: principal.passwordHash ?? null,
      app: principal.app ?? null,
    };
    await translateViolations(
      {
        unique: `${describeKind(principal.kind)} "${principal.name}" (or id "${principal.id}") already exists`,
      },
      () => this.#context.db.insertInto('principals').values(row).execute(),
    );
    return toPrincipal(row);
  }

  async get(id: string): Promise<Principal | undefined> {
    const row = await this.#context.db
      .selectFrom('principals')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toPrincipal(row);
  }

  async findByName(name: string): Promise<Principal | undefined> {
    const row = await this.#context.db
      .selectFrom('principals')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? undefined : toPrincipal(row);
  }

  /** Ordered by name. */
  async list(options?: ListOptions & { kind?: Principal['kind']; app?: string }): Promise<Page<Principal>> {
    const limit = pageSize(options);
    const after = options?.after === undefined ? undefined : decodeCursor(options.after, ['string']);
    const rows = await this.#context.db
      .selectFrom('principals')
      .selectAll()
      .$if(after !== undefined, (query) => query.where('name', '>', after?.[0] ?? ''))
      .$if(options?.kind !== undefined, (query) => query.where('kind', '=', options?.kind ?? 'user'))
      .$if(options?.app !== undefined, (query) => query.where('app', '=', options?.app ?? ''))
      .orderBy('name')
      .limit(limit + 1)
      .execute();
    return toPage(rows, limit, toPrincipal, (row) => [row.name]);
  }

  async passwordHash(id: string): Promise<string | undefined> {
    const row = await this.#context.db
      .selectFrom('principals')
      .select('password_hash')
      .where('id', '=', id)
      .executeTakeFirst();
    return optional(row?.password_hash ?? null);
  }

  async setPassword(id: string, passwordHash: string | undefined): Promise<boolean> {
    const result = await this.#context.db
      .updateTable('principals')
      .set({ password_hash: passwordHash ?? null })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async setDisabled(id: string, disabled: boolean): Promise<boolean> {
    const result = await this.#context.db
      .updateTable('principals')
      .set({ disabled: disabled ? 1 : 0 })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}

function describeKind(kind: Principal['kind']): string {
  return kind === 'user' ? 'user' : 'service account';
}

/** A principal row as the store hands it out: the password hash stays behind. */
export function toPrincipal(
  row: Pick<
    Selectable<PrincipalTable>,
    'id' | 'kind' | 'name' | 'created_at' | 'disabled' | 'password_hash' | 'app'
  >,
): Principal {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    createdAt: row.created_at,
    disabled: row.disabled !== 0,
    ...(row.app === null ? {} : { app: row.app }),
    hasPassword: row.password_hash !== null,
  };
}
