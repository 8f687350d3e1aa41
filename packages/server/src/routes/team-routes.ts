import { PavedError, authorize } from '@paved/core';
import { teamSubject, type Store, type Team } from '@paved/store';
import { z } from 'zod';
import { grantsToWire, requirePrincipal } from './access-lookups.js';
import { principalName, teamSchema } from './access-schemas.js';
import { defineRoute, type AnyRoute } from './route.js';
import { pageOf, pageQuery, teamName } from './schemas.js';
import type { AuthenticatedPrincipal } from '../auth/authenticated-principal.js';
import { caller } from './scopes.js';

const teamParams = z.object({ team: teamName });

/** Teams and their members: managers and administrators (`teams.manage`). */
export function teamRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/teams',
      permission: 'teams.manage',
      summary: 'List teams',
      query: pageQuery,
      response: pageOf(teamSchema),
      handler: async ({ query, server }) => {
        const page = await server.store.teams.list({ ...query, limit: query.limit ?? 100 });
        return { items: page.items.map((team) => teamToWire(team)), next: page.next };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/teams',
      permission: 'teams.manage',
      summary: 'Create a team, optionally with members',
      description:
        'Apps name the team that owns them (`paved apps create APP --team TEAM`); its members may read them.',
      body: z.strictObject({
        name: teamName,
        description: z.string().max(500).optional(),
        members: z.array(principalName).max(1000).optional(),
      }),
      response: teamSchema,
      status: 201,
      handler: async ({ body, principal, server }) => {
        await server.store.transaction(async (store) => {
          await store.teams.create({
            name: body.name,
            ...(body.description === undefined ? {} : { description: body.description }),
            createdBy: caller(principal).name,
          });
          for (const member of body.members ?? []) {
            await store.teams.addMember(body.name, (await requirePrincipal(store, member)).id);
          }
        });
        return describeTeam(server.store, body.name);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/teams/{team}',
      permission: 'teams.manage',
      summary: 'Get a team with its members and the roles granted to it',
      params: teamParams,
      response: teamSchema,
      handler: async ({ params, server }) => describeTeam(server.store, params.team),
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/teams/{team}',
      permission: 'teams.manage',
      summary: 'Delete a team, its memberships and the roles granted to it',
      description: 'Refused (409) while an app names the team as its owner.',
      params: teamParams,
      response: z.undefined(),
      status: 204,
      handler: async ({ params, server }) => {
        await server.store.transaction(async (store) => {
          await requireTeam(store, params.team);
          const owned = await appsOwnedBy(store, params.team);
          if (owned.length > 0) {
            throw new PavedError(
              'CONFLICT',
              `team "${params.team}" owns apps ${owned.join(', ')}; give them another team or delete them first`,
              { details: { team: params.team, apps: owned } },
            );
          }
          await store.grants.revokeAll(teamSubject(params.team));
          await store.teams.delete(params.team);
        });
        return undefined;
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/api/v1/teams/{team}/members/{name}',
      permission: 'teams.manage',
      summary: 'Add a user or service account to a team (nothing changes when it is a member already)',
      params: teamParams.extend({ name: principalName }),
      response: teamSchema,
      handler: async ({ params, principal, server }) => {
        await requireTeam(server.store, params.team);
        await requireMayExtend(server.store, caller(principal), params.team);
        const member = await requirePrincipal(server.store, params.name);
        await server.store.teams.addMember(params.team, member.id);
        return describeTeam(server.store, params.team);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/teams/{team}/members/{name}',
      permission: 'teams.manage',
      summary: 'Remove a user or service account from a team',
      params: teamParams.extend({ name: principalName }),
      response: z.undefined(),
      status: 204,
      handler: async ({ params, server }) => {
        await requireTeam(server.store, params.team);
        const member = await requirePrincipal(server.store, params.name);
        if (!(await server.store.teams.removeMember(params.team, member.id))) {
          throw new PavedError('NOT_FOUND', `"${params.name}" is not a member of team "${params.team}"`, {
            details: { team: params.team, name: params.name },
          });
        }
        return undefined;
      },
    }),
  ];
}

async function requireTeam(store: Store, name: string): Promise<Team> {
  const team = await store.teams.get(name);
  if (team === undefined) {
    throw new PavedError('NOT_FOUND', `team "${name}" does not exist; paved teams list shows them`, {
      details: { team: name },
    });
  }
  return team;
}

/**
 * Adding a member to a team hands it the roles granted to the team, so it needs what granting
 * them directly would: the administrator's `users.manage` for organisation and environment-type
 * roles, `apps.members` on the app for an app role. Otherwise a manager could join a team that
 * owns an app and become its owner.
 */
async function requireMayExtend(store: Store, me: AuthenticatedPrincipal, team: string): Promise<void> {
  for (const grant of await store.grants.list({ subject: teamSubject(team) })) {
    const [permission, scope] =
      grant.scope.kind === 'app'
        ? (['apps.members', { app: grant.scope.app }] as const)
        : (['users.manage', {}] as const);
    if (!authorize(me.subject, permission, scope).allowed) {
      const where =
        grant.scope.kind === 'app'
          ? `app "${grant.scope.app}"`
          : grant.scope.kind === 'org'
            ? 'the organisation'
            : `environment type "${grant.scope.envType}"`;
      throw new PavedError(
        'FORBIDDEN',
        `not allowed: team "${team}" holds role "${grant.role}" on ${where}, so adding a member grants it that role, which needs ${permission}${grant.scope.kind === 'app' ? ` on ${where}` : ''}; ask ${grant.scope.kind === 'app' ? "the app's owners or " : ''}an administrator`,
        { details: { permission, team, role: grant.role } },
      );
    }
  }
}

async function appsOwnedBy(store: Store, team: string): Promise<string[]> {
  const owned: string[] = [];
  let after: string | undefined;
  do {
    const page = await store.apps.list(after === undefined ? { limit: 500 } : { after, limit: 500 });
    owned.push(...page.items.filter((app) => app.team === team).map((app) => app.name));
    after = page.next ?? undefined;
  } while (after !== undefined);
  return owned;
}

async function describeTeam(store: Store, name: string): Promise<z.input<typeof teamSchema>> {
  const team = await requireTeam(store, name);
  const [members, grants] = await Promise.all([
    store.teams.members(name),
    store.grants.list({ subject: teamSubject(name) }),
  ]);
  return teamToWire(team, {
    members: members.map((member) => member.name),
    roles: await grantsToWire(store, grants),
  });
}

function teamToWire(
  team: Team,
  extra: Pick<z.input<typeof teamSchema>, 'members' | 'roles'> = {},
): z.input<typeof teamSchema> {
  return {
    name: team.name,
    ...(team.description === undefined ? {} : { description: team.description }),
    createdAt: team.createdAt,
    createdBy: team.createdBy,
    ...extra,
  };
}
