import type { Selectable } from 'kysely';
import type { RoleGrantTable } from './database.js';
import { translateViolations } from './database-errors.js';
import { timestamp, type RepositoryContext } from './repository-context.js';
import type { RoleGrant, RoleGrantRepository, RoleScope } from './store.js';

export class KyselyRoleGrantRepository implements RoleGrantRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async grant(grant: Omit<RoleGrant, 'createdAt'>): Promise<RoleGrant> {
    const row: Selectable<RoleGrantTable> = {
      subject: grant.subject,
      role: grant.role,
      ...scopeColumns(grant.scope),
      created_at: timestamp(this.#context.clock.now()),
    };
    await translateViolations(
      { unique: `"${grant.subject}" already has role "${grant.role}" on ${describeScope(grant.scope)}` },
      () => this.#context.db.insertInto('role_grants').values(row).execute(),
    );
    return toGrant(row);
  }

  /** @returns whether the grant existed. */
  async revoke(grant: Omit<RoleGrant, 'createdAt'>): Promise<boolean> {
    const scope = scopeColumns(grant.scope);
    const result = await this.#context.db
      .deleteFrom('role_grants')
      .where('subject', '=', grant.subject)
      .where('role', '=', grant.role)
      .where('scope_kind', '=', scope.scope_kind)
      .where('scope_name', '=', scope.scope_name)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async listFor(subjects: string[]): Promise<RoleGrant[]> {
    // `in ()` is a syntax error on PostgreSQL.
    if (subjects.length === 0) return [];
    const rows = await this.#context.db
      .selectFrom('role_grants')
      .selectAll()
      .where('subject', 'in', subjects)
      .orderBy('subject')
      .orderBy('role')
      .orderBy('scope_kind')
      .orderBy('scope_name')
      .execute();
    return rows.map(toGrant);
  }
}

function scopeColumns(scope: RoleScope): Pick<RoleGrantTable, 'scope_kind' | 'scope_name'> {
  switch (scope.kind) {
    case 'org':
      return { scope_kind: 'org', scope_name: '' };
    case 'app':
      return { scope_kind: 'app', scope_name: scope.app };
    case 'env-type':
      return { scope_kind: 'env-type', scope_name: scope.envType };
  }
}

function toScope(row: Pick<RoleGrantTable, 'scope_kind' | 'scope_name'>): RoleScope {
  switch (row.scope_kind) {
    case 'org':
      return { kind: 'org' };
    case 'app':
      return { kind: 'app', app: row.scope_name };
    case 'env-type':
      return { kind: 'env-type', envType: row.scope_name };
  }
}

function describeScope(scope: RoleScope): string {
  switch (scope.kind) {
    case 'org':
      return 'the organisation';
    case 'app':
      return `app "${scope.app}"`;
    case 'env-type':
      return `environment type "${scope.envType}"`;
  }
}

function toGrant(row: Selectable<RoleGrantTable>): RoleGrant {
  return { subject: row.subject, role: row.role, scope: toScope(row), createdAt: row.created_at };
}
