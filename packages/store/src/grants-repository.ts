import { sql, type Selectable } from 'kysely';
import type { RoleGrantTable } from './database.js';
import { translateViolations } from './database-errors.js';
import { precompiled } from './precompiled-query.js';
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

  async resolve(principalId: string): Promise<{ teams: string[]; grants: RoleGrant[] }> {
    const rows = await teamsAndGrants(this.#context, [principalId, principalId, principalId]);
    const teams: string[] = [];
    const grants: RoleGrant[] = [];
    for (const row of rows) {
      if (row.row_kind === 'team') teams.push(row.subject);
      else
        grants.push(
          toGrant({
            subject: row.subject,
            role: row.role,
            scope_kind: row.scope_kind as RoleGrantTable['scope_kind'],
            scope_name: row.scope_name,
            created_at: row.created_at,
          }),
        );
    }
    teams.sort();
    grants.sort(compareGrants);
    return { teams, grants };
  }

  async list(filter: { subject?: string; role?: string; scope?: RoleScope } = {}): Promise<RoleGrant[]> {
    const scope = filter.scope === undefined ? undefined : scopeColumns(filter.scope);
    const rows = await this.#context.db
      .selectFrom('role_grants')
      .selectAll()
      .$if(filter.subject !== undefined, (query) => query.where('subject', '=', filter.subject ?? ''))
      .$if(filter.role !== undefined, (query) => query.where('role', '=', filter.role ?? ''))
      .$if(scope !== undefined, (query) =>
        query
          .where('scope_kind', '=', scope?.scope_kind ?? 'org')
          .where('scope_name', '=', scope?.scope_name ?? ''),
      )
      .orderBy('subject')
      .orderBy('role')
      .orderBy('scope_kind')
      .orderBy('scope_name')
      .execute();
    return rows.map(toGrant);
  }

  async revokeAll(subject: string): Promise<number> {
    const result = await this.#context.db
      .deleteFrom('role_grants')
      .where('subject', '=', subject)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
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

/**
 * A principal's team memberships and every grant of it or of its teams, in one round trip:
 * authentication's second query, on every request, so built once (see precompiled-query.ts).
 */
const teamsAndGrants = precompiled(
  (db, [forTeams, forGrants, forTeamGrants]) =>
    db
      .selectFrom('team_members')
      .select([
        sql<string>`'team'`.as('row_kind'),
        'team as subject',
        sql<string>`''`.as('role'),
        sql<string>`'org'`.as('scope_kind'),
        sql<string>`''`.as('scope_name'),
        'created_at',
      ])
      .where('principal_id', '=', forTeams)
      .unionAll(
        db
          .selectFrom('role_grants')
          .select([
            sql<string>`'grant'`.as('row_kind'),
            'subject',
            'role',
            'scope_kind',
            'scope_name',
            'created_at',
          ])
          .where((where) =>
            where.or([
              where('subject', '=', forGrants),
              where(
                'subject',
                'in',
                db
                  .selectFrom('team_members')
                  .select(sql<string>`'team:' || team`.as('subject'))
                  .where('principal_id', '=', forTeamGrants),
              ),
            ]),
          ),
      ),
  ['principal', 'principal-grants', 'principal-team-grants'] as [string, string, string],
);

/** The subject under which a team's grants are kept. */
export function teamSubject(team: string): string {
  return `team:${team}`;
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

function compareGrants(a: RoleGrant, b: RoleGrant): number {
  const key = (grant: RoleGrant): string[] => {
    const columns = scopeColumns(grant.scope);
    return [grant.subject, grant.role, columns.scope_kind, columns.scope_name];
  };
  const [left, right] = [key(a), key(b)];
  for (let index = 0; index < left.length; index += 1) {
    const order =
      (left[index] ?? '') < (right[index] ?? '') ? -1 : (left[index] ?? '') > (right[index] ?? '') ? 1 : 0;
    if (order !== 0) return order;
  }
  return 0;
}
