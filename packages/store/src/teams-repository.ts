import { PavedError } from '@paved/core';
import type { Selectable } from 'kysely';
import type { TeamTable } from './database.js';
import { translateViolations } from './database-errors.js';
import { decodeCursor, pageSize, toPage } from './pagination.js';
import { toPrincipal } from './principals-repository.js';
import { optional, timestamp, type RepositoryContext } from './repository-context.js';
import type { ListOptions, Page, Principal, Team, TeamRepository } from './store.js';

export class KyselyTeamRepository implements TeamRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async create(team: Omit<Team, 'createdAt'>): Promise<Team> {
    const row: Selectable<TeamTable> = {
      name: team.name,
      description: team.description ?? null,
      created_at: timestamp(this.#context.clock.now()),
      created_by: team.createdBy,
    };
    await translateViolations({ unique: `team "${team.name}" already exists` }, () =>
      this.#context.db.insertInto('teams').values(row).execute(),
    );
    return toTeam(row);
  }

  async get(name: string): Promise<Team | undefined> {
    const row = await this.#context.db
      .selectFrom('teams')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? undefined : toTeam(row);
  }

  async list(options?: ListOptions): Promise<Page<Team>> {
    const limit = pageSize(options);
    const after = options?.after === undefined ? undefined : decodeCursor(options.after, ['string']);
    const rows = await this.#context.db
      .selectFrom('teams')
      .selectAll()
      .$if(after !== undefined, (query) => query.where('name', '>', after?.[0] ?? ''))
      .orderBy('name')
      .limit(limit + 1)
      .execute();
    return toPage(rows, limit, toTeam, (row) => [row.name]);
  }

  async setDescription(name: string, description: string | undefined): Promise<boolean> {
    const result = await this.#context.db
      .updateTable('teams')
      .set({ description: description ?? null })
      .where('name', '=', name)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async delete(name: string): Promise<boolean> {
    // Memberships go with the team (foreign key cascade on both engines).
    const result = await this.#context.db.deleteFrom('teams').where('name', '=', name).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async addMember(team: string, principalId: string): Promise<boolean> {
    const result = await translateViolations(
      {
        foreignKey: new PavedError(
          'NOT_FOUND',
          `team "${team}" or principal "${principalId}" does not exist`,
        ),
      },
      () =>
        this.#context.db
          .insertInto('team_members')
          .values({ team, principal_id: principalId, created_at: timestamp(this.#context.clock.now()) })
          // A member already: nothing to do, and no violation to spoil a caller's transaction.
          .onConflict((conflict) => conflict.columns(['team', 'principal_id']).doNothing())
          .executeTakeFirst(),
    );
    return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  async removeMember(team: string, principalId: string): Promise<boolean> {
    const result = await this.#context.db
      .deleteFrom('team_members')
      .where('team', '=', team)
      .where('principal_id', '=', principalId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async members(team: string): Promise<Principal[]> {
    const rows = await this.#context.db
      .selectFrom('team_members')
      .innerJoin('principals', 'principals.id', 'team_members.principal_id')
      .selectAll('principals')
      .where('team_members.team', '=', team)
      .orderBy('principals.name')
      .execute();
    return rows.map(toPrincipal);
  }

  async teamsOf(principalId: string): Promise<string[]> {
    const rows = await this.#context.db
      .selectFrom('team_members')
      .select('team')
      .where('principal_id', '=', principalId)
      .orderBy('team')
      .execute();
    return rows.map((row) => row.team);
  }
}

function toTeam(row: Selectable<TeamTable>): Team {
  const description = optional(row.description);
  return {
    name: row.name,
    ...(description === undefined ? {} : { description }),
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}
