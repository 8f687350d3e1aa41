import { randomUUID } from 'node:crypto';
import { PavedError } from '@paved/core';
import { z } from 'zod';
import {
  grantsToWire,
  issueToken,
  requireAppServiceAccount,
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
import { appName, pageOf } from './schemas.js';
import { caller } from './scopes.js';

const tokenId = z.string().min(1).max(100);
const appRoles = z.enum(['viewer', 'developer', 'owner']);

/**
 * Tokens: every caller's own (`tokens.own`), and those of an app's service accounts, which the
 * app's owners manage (`service-accounts.manage` on the app).
 */
export function tokenRoutes(): AnyRoute[] {
  const saParams = z.object({ app: appName, name: principalName });
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/tokens',
      permission: 'tokens.own',
      summary: "List the caller's own tokens (never their secrets)",
      response: pageOf(tokenSchema),
      handler: async ({ principal, server }) => {
        const me = caller(principal);
        const tokens = await server.store.tokens.listFor(me.id);
        return { items: tokens.map((token) => tokenToWire(token, me.name)), next: null };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/tokens',
      permission: 'tokens.own',
      summary: 'Create a token for the caller; the answer holds the token, shown this once',
      body: newTokenBody,
      response: createdTokenSchema,
      status: 201,
      handler: async ({ body, principal, server, audit }) => {
        const me = caller(principal);
        const owner = await server.store.principals.get(me.id);
        if (owner === undefined) throw new PavedError('UNAUTHENTICATED', 'the caller no longer exists');
        const created = await issueToken(server.store, server.clock, {
          principal: owner,
          name: body.name,
          expires: body.expires,
          app: body.app,
        });
        audit.details.tokenId = created.id;
        return created;
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/tokens/{id}',
      permission: 'tokens.own',
      summary: "Revoke one of the caller's own tokens; it stops working on the next request",
      params: z.object({ id: tokenId }),
      response: z.undefined(),
      status: 204,
      handler: async ({ params, principal, server }) => {
        const me = caller(principal);
        const owner = await server.store.principals.get(me.id);
        if (owner === undefined) throw new PavedError('UNAUTHENTICATED', 'the caller no longer exists');
        await requireTokenOf(server.store, owner, params.id);
        await server.store.tokens.revoke(params.id, server.clock.now());
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/service-accounts',
      permission: 'service-accounts.manage',
      summary: "List an app's service accounts",
      params: z.object({ app: appName }),
      response: pageOf(userSchema),
      handler: async ({ params, server }) => {
        await requireApp(server.store, params.app);
        const page = await server.store.principals.list({
          app: params.app,
          kind: 'service-account',
          limit: 500,
        });
        const items = [];
        for (const account of page.items) {
          items.push(
            userToWire(account, {
              roles: await grantsToWire(
                server.store,
                await server.store.grants.list({ subject: account.id }),
              ),
            }),
          );
        }
        return { items, next: null };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps/{app}/service-accounts',
      permission: 'service-accounts.manage',
      summary:
        'Create a service account of an app (a machine user for CI), optionally with a role on the app',
      params: z.object({ app: appName }),
      body: z.strictObject({
        name: principalName,
        role: appRoles.optional().meta({ description: 'An app role to grant it on the app at once.' }),
      }),
      response: userSchema,
      status: 201,
      handler: async ({ params, body, server }) => {
        const created = await server.store.transaction(async (store) => {
          await requireApp(store, params.app);
          const account = await store.principals.create({
            id: randomUUID(),
            kind: 'service-account',
            name: body.name,
            app: params.app,
          });
          if (body.role !== undefined) {
            await store.grants.grant({
              subject: account.id,
              role: body.role,
              scope: { kind: 'app', app: params.app },
            });
          }
          return account;
        });
        return userToWire(created, {
          roles: await grantsToWire(server.store, await server.store.grants.list({ subject: created.id })),
        });
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/apps/{app}/service-accounts/{name}',
      permission: 'service-accounts.manage',
      summary: "Disable an app's service account: its tokens stop working on the next request",
      params: saParams,
      response: z.undefined(),
      status: 204,
      handler: async ({ params, server }) => {
        const account = await requireAppServiceAccount(server.store, params.app, params.name);
        await server.store.principals.setDisabled(account.id, true);
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/service-accounts/{name}/tokens',
      permission: 'service-accounts.manage',
      summary: "List the tokens of an app's service account",
      params: saParams,
      response: pageOf(tokenSchema),
      handler: async ({ params, server }) => {
        const account = await requireAppServiceAccount(server.store, params.app, params.name);
        const tokens = await server.store.tokens.listFor(account.id);
        return { items: tokens.map((token) => tokenToWire(token, account.name)), next: null };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps/{app}/service-accounts/{name}/tokens',
      permission: 'service-accounts.manage',
      summary:
        "Create a token for an app's service account, restricted to the app; the answer holds the token, shown this once",
      params: saParams,
      body: newTokenBody.omit({ app: true }),
      response: createdTokenSchema,
      status: 201,
      handler: async ({ params, body, server, audit }) => {
        const account = await requireAppServiceAccount(server.store, params.app, params.name);
        const created = await issueToken(server.store, server.clock, {
          principal: account,
          name: body.name,
          expires: body.expires,
          app: params.app,
        });
        audit.details.tokenId = created.id;
        return created;
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/apps/{app}/service-accounts/{name}/tokens/{id}',
      permission: 'service-accounts.manage',
      summary: "Revoke a token of an app's service account",
      params: saParams.extend({ id: tokenId }),
      response: z.undefined(),
      status: 204,
      handler: async ({ params, server }) => {
        const account = await requireAppServiceAccount(server.store, params.app, params.name);
        await requireTokenOf(server.store, account, params.id);
        await server.store.tokens.revoke(params.id, server.clock.now());
        return undefined;
      },
    }),
  ];
}
