import { PavedError } from '@paved/core';
import type { App } from '@paved/store';
import { z } from 'zod';
import { requireApp } from './lookups.js';
import { defineRoute, type AnyRoute } from './route.js';
import { appName, appSchema, pageOf, pageQuery, teamName } from './schemas.js';
import { caller } from './scopes.js';

const appParams = z.object({ app: appName });

export function appRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps',
      permission: 'apps.list',
      summary: 'List apps',
      query: pageQuery,
      response: pageOf(appSchema),
      handler: async ({ query, server }) => {
        const page = await server.store.apps.list({ ...query, limit: query.limit ?? 100 });
        return { items: page.items.map(toWire), next: page.next };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps',
      permission: 'apps.create',
      summary: 'Create an app',
      body: z.strictObject({ name: appName, team: teamName.optional() }),
      response: appSchema,
      status: 201,
      handler: async ({ body, principal, server }) => {
        if ((await server.store.apps.get(body.name)) !== undefined) {
          throw new PavedError('CONFLICT', `app "${body.name}" exists already; choose another name`, {
            details: { app: body.name },
          });
        }
        const app = await server.store.apps.create({
          name: body.name,
          ...(body.team === undefined ? {} : { team: body.team }),
          createdBy: caller(principal).name,
        });
        return toWire(app);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}',
      permission: 'apps.read',
      summary: 'Get an app',
      params: appParams,
      response: appSchema,
      handler: async ({ params, server }) => toWire(await requireApp(server.store, params.app)),
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/apps/{app}',
      permission: 'apps.delete',
      summary: 'Delete an app that has no environments',
      params: appParams,
      response: z.undefined(),
      status: 204,
      handler: async ({ params, server }) => {
        await server.store.transaction(async (store) => {
          await requireApp(store, params.app);
          const environments = (await store.environments.list(params.app, { limit: 500 })).items.map(
            (environment) => environment.name,
          );
          if (environments.length > 0) {
            throw new PavedError(
              'CONFLICT',
              `app "${params.app}" still has environments ${environments.join(', ')}; delete them first (paved envs delete ${params.app} ENV)`,
              { details: { app: params.app, environments } },
            );
          }
          await store.values.deleteScope({ app: params.app });
          await store.apps.delete(params.app);
        });
        return undefined;
      },
    }),
  ];
}

function toWire(app: App): z.input<typeof appSchema> {
  return {
    name: app.name,
    ...(app.team === undefined ? {} : { team: app.team }),
    createdAt: app.createdAt,
    createdBy: app.createdBy,
  };
}
