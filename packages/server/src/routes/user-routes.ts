import { randomUUID } from 'node:crypto';
import { PavedError, rolesAt } from '@paved/core';
import { z } from 'zod';
import { hashPassword, passwordProblem, verifyPassword } from '../auth/passwords.js';
import {
  grantsToWire,
  issueToken,
  requirePrincipal,
  requireTokenOf,
  tokenToWire,
  userToWire,
} from './access-lookups.js';
import {
  createdTokenSchema,
  newTokenBody,
  principalName,
  tokenSchema,
  userSchema,
} from './access-schemas.js';
import { requireApp } from './lookups.js';
import { defineRoute, type AnyRoute } from './route.js';
import { appName, pageOf, pageQuery } from './schemas.js';
import { caller } from './scopes.js';

const password = z.string().superRefine((value, context) => {
  const problem = passwordProblem(value);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
});
const orgRole = z.enum(rolesAt('org') as [string, ...string[]]);
const nameParams = z.object({ name: principalName });

/** Users and service accounts of the organisation, and their tokens: administrators only. */
export function userRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/users',
      permission: 'users.manage',
      summary: 'List users and service accounts',
      query: pageQuery.extend({
        kind: z.enum(['user', 'service-account']).optional(),
        app: appName.optional().meta({ description: 'Only the service accounts of this app.' }),
      }),
      response: pageOf(userSchema),
      handler: async ({ query, server }) => {
        const page = await server.store.principals.list({
          ...query,
          limit: query.limit ?? 100,
        });
        return { items: page.items.map((principal) => userToWire(principal)), next: page.next };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/users',
      permission: 'users.manage',
      summary: 'Create a user (who may log in with a password) or a service account',
      description:
        'Users get the organisation role `member` unless `role` says otherwise; service accounts get no role unless `role` names one. A service account may belong to an app (`app`), whose owners then manage it.',
      body: z
        .strictObject({
          name: principalName,
          kind: z.enum(['user', 'service-account']).optional().meta({ description: 'Default: user.' }),
          password: password.optional().meta({ description: 'Users only; at least 12 characters.' }),
          role: orgRole
            .optional()
            .meta({ description: 'Organisation role: member (default for users), manager, administrator.' }),
          app: appName.optional().meta({ description: 'Service accounts only: the app it belongs to.' }),
          teams: z.array(z.string()).optional().meta({ description: 'Teams to add it to.' }),
        })
        .superRefine((body, context) => {
          if (body.kind === 'service-account' && body.password !== undefined) {
            context.addIssue({
              code: 'custom',
              path: ['password'],
              message: 'service accounts log in with tokens only; leave the password out',
            });
          }
          if (body.kind !== 'service-account' && body.app !== undefined) {
            context.addIssue({
              code: 'custom',
              path: ['app'],
              message: 'only service accounts belong to an app; give "kind": "service-account"',
            });
          }
        }),
      response: userSchema,
      status: 201,
      handler: async ({ body, server }) => {
        const kind = body.kind ?? 'user';
        const passwordHash = body.password === undefined ? undefined : await hashPassword(body.password);
        const role = body.role ?? (kind === 'user' ? 'member' : undefined);
        const created = await server.store.transaction(async (store) => {
          if (body.app !== undefined) await requireApp(store, body.app);
          const user = await store.principals.create({
            id: randomUUID(),
            kind,
            name: body.name,
            ...(body.app === undefined ? {} : { app: body.app }),
            ...(passwordHash === undefined ? {} : { passwordHash }),
          });
          if (role !== undefined)
            await store.grants.grant({ subject: user.id, role, scope: { kind: 'org' } });
          for (const team of body.teams ?? []) {
            if ((await store.teams.get(team)) === undefined) {
              throw new PavedError(
                'NOT_FOUND',
                `team "${team}" does not exist; create it first (paved teams create ${team})`,
                {
                  details: { team },
                },
              );
            }
            await store.teams.addMember(team, user.id);
          }
          return user;
        });
        return describeUser(server.store, created);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/users/{name}',
      permission: 'users.manage',
      summary: 'Get a user or service account with its teams and roles',
      params: nameParams,
      response: userSchema,
      handler: async ({ params, server }) =>
        describeUser(server.store, await requirePrincipal(server.store, params.name)),
    }),
    defineRoute({
      method: 'PATCH',
      path: '/api/v1/users/{name}',
      permission: 'users.manage',
      summary: 'Set or remove a password, disable or enable a user or service account',
      description:
        'Disabling stops every token and session of the principal on the next request; a new password ends its portal sessions.',
      params: nameParams,
      body: z
        .strictObject({
          password: password
            .nullable()
            .optional()
            .meta({ description: 'A new password, or null to remove it.' }),
          disabled: z.boolean().optional(),
        })
        .refine((body) => body.password !== undefined || body.disabled !== undefined, {
          message: 'nothing to change: give "password", "disabled" or both',
        }),
      response: userSchema,
      handler: async ({ params, body, principal, server }) => {
        const target = await requirePrincipal(server.store, params.name);
        if (body.password !== undefined && body.password !== null && target.kind !== 'user') {
          throw PavedError.invalid('service accounts log in with tokens only; they have no password', [
            { path: 'password', message: 'service accounts have no password' },
          ]);
        }
        if (body.disabled === true && target.id === caller(principal).id) {
          throw PavedError.invalid('you cannot disable yourself; ask another administrator', [
            { path: 'disabled', message: 'cannot disable the caller' },
          ]);
        }
        const passwordHash =
          body.password === undefined || body.password === null
            ? undefined
            : await hashPassword(body.password);
        const now = server.clock.now();
        await server.store.transaction(async (store) => {
          if (body.password !== undefined) {
            await store.principals.setPassword(target.id, passwordHash);
            await store.sessions.revokeAllFor(target.id, now);
          }
          if (body.disabled !== undefined) {
            await store.principals.setDisabled(target.id, body.disabled);
            if (body.disabled) await store.sessions.revokeAllFor(target.id, now);
          }
        });
        if (body.password !== undefined) await server.loginLimiter.succeeded(target.name);
        return describeUser(server.store, await requirePrincipal(server.store, params.name));
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/users/{name}/tokens',
      permission: 'users.manage',
      summary: 'List the tokens of any user or service account',
      params: nameParams,
      response: pageOf(tokenSchema),
      handler: async ({ params, server }) => {
        const owner = await requirePrincipal(server.store, params.name);
        const tokens = await server.store.tokens.listFor(owner.id);
        return { items: tokens.map((token) => tokenToWire(token, owner.name)), next: null };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/users/{name}/tokens',
      permission: 'users.manage',
      summary: 'Create a token for any user or service account; the answer holds the token, shown this once',
      params: nameParams,
      body: newTokenBody,
      response: createdTokenSchema,
      status: 201,
      handler: async ({ params, body, server, audit }) => {
        const owner = await requirePrincipal(server.store, params.name);
        const created = await issueToken(server.store, server.clock, {
          principal: owner,
          name: body.name,
          expires: body.expires,
          app: body.app ?? owner.app,
        });
        audit.details.tokenId = created.id;
        return created;
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/users/{name}/tokens/{id}',
      permission: 'users.manage',
      summary: 'Revoke a token of any user or service account',
      params: nameParams.extend({ id: z.string().min(1).max(100) }),
      response: z.undefined(),
      status: 204,
      handler: async ({ params, server }) => {
        const owner = await requirePrincipal(server.store, params.name);
        await requireTokenOf(server.store, owner, params.id);
        await server.store.tokens.revoke(params.id, server.clock.now());
        return undefined;
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/api/v1/whoami/password',
      permission: 'tokens.own',
      summary: "Change the caller's own password, giving the current one",
      description:
        'Failed attempts count towards the login lockout of the name. Ends the portal sessions of the caller.',
      body: z.strictObject({ currentPassword: z.string().max(1024), newPassword: password }),
      response: z.undefined(),
      status: 204,
      handler: async ({ body, principal, server, remoteAddress }) => {
        const me = caller(principal);
        await server.loginLimiter.check(me.name, remoteAddress);
        if (
          !(await verifyPassword(body.currentPassword, await server.store.principals.passwordHash(me.id)))
        ) {
          await server.loginLimiter.failed(me.name, remoteAddress);
          throw new PavedError('FORBIDDEN', 'the current password is wrong; the password was not changed', {
            details: { permission: 'tokens.own' },
          });
        }
        const passwordHash = await hashPassword(body.newPassword);
        await server.store.transaction(async (store) => {
          await store.principals.setPassword(me.id, passwordHash);
          await store.sessions.revokeAllFor(me.id, server.clock.now());
        });
        await server.loginLimiter.succeeded(me.name);
        return undefined;
      },
    }),
  ];
}

async function describeUser(
  store: Parameters<typeof grantsToWire>[0],
  principal: Parameters<typeof userToWire>[0],
): Promise<z.input<typeof userSchema>> {
  return userToWire(principal, {
    teams: await store.teams.teamsOf(principal.id),
    roles: await grantsToWire(store, await store.grants.list({ subject: principal.id })),
  });
}
