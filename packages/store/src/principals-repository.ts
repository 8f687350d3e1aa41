import type { Selectable } from 'kysely';
import type { PrincipalTable } from './database.js';
import { translateViolations } from './database-errors.js';
import { decodeCursor, pageSize, toPage } from './pagination.js';
import { timestamp, type RepositoryContext } from './repository-context.js';
import type { ListOptions, Page, Principal, PrincipalRepository } from './store.js';

export class KyselyPrincipalRepository implements PrincipalRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async create(principal: Omit<Principal, 'createdAt' | 'disabled'>): Promise<Principal> {
    const row: Selectable<PrincipalTable> = {
      id: principal.id,
      kind: principal.kind,
      name: principal.name,
      created_at: timestamp(this.#context.clock.now()),
      disabled: 0,
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
  async list(options?: ListOptions): Promise<Page<Principal>> {
    const limit = pageSize(options);
    const after = options?.after === undefined ? undefined : decodeCursor(options.after, ['string']);
    const rows = await this.#context.db
      .selectFrom('principals')
      .selectAll()
      .$if(after !== undefined, (query) => query.where('name', '>', after?.[0] ?? ''))
      .orderBy('name')
      .limit(limit + 1)
      .execute();
    return toPage(rows, limit, toPrincipal, (row) => [row.name]);
  }
}

function describeKind(kind: Principal['kind']): string {
  return kind === 'user' ? 'user' : 'service account';
}

function toPrincipal(row: Selectable<PrincipalTable>): Principal {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    createdAt: row.created_at,
    disabled: row.disabled !== 0,
  };
}
