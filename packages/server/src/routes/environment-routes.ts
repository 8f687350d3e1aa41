import { PavedError, type Problem } from '@paved/core';
import type { Environment } from '@paved/store';
import { z } from 'zod';
import { parseDurationSeconds } from '../duration.js';
import { requireApp, requireEnvType, requireEnvironment } from './lookups.js';
import { defineRoute, type AnyRoute } from './route.js';
import { appName, duration, envName, environmentSchema, envTypeName, pageOf, pageQuery } from './schemas.js';
import { PROCESS_TARGET } from '../targets/target-settings.js';
import { appScope, caller, environmentScope } from './scopes.js';

const envParams = z.object({ app: appName, env: envName });

export function environmentRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/envs',
      permission: 'envs.list',
      summary: "List an app's environments",
      params: z.object({ app: appName }),
      query: pageQuery,
      response: pageOf(environmentSchema),
      handler: async ({ params, query, server }) => {
        await requireApp(server.store, params.app);
        const page = await server.store.environments.list(params.app, {
          ...query,
          limit: query.limit ?? 100,
        });
        return { items: page.items.map(environmentToWire), next: page.next };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps/{app}/envs',
      permission: 'envs.create',
      summary: 'Create an environment, optionally cloning the values of another',
      params: z.object({ app: appName }),
      body: z.strictObject({
        name: envName,
        type: envTypeName,
        target: z.string().min(1).optional().meta({
          description: "A target of `GET /api/v1/targets`; default: the type's default target, else process.",
        }),
        from: envName
          .optional()
          .meta({ description: 'An environment of the same app whose values are copied.' }),
        ttl: duration.optional().meta({ description: "Time to live; default: the type's default TTL." }),
      }),
      response: environmentSchema,
      status: 201,
      scope: async ({ params, body }, store) => ({
        ...(await appScope(store, params.app)),
        envType: body.type,
      }),
      handler: async ({ params, body, principal, server }) => {
        const { store, clock, targets } = server;
        await requireApp(store, params.app);
        const envType = await requireEnvType(store, body.type);
        const source =
          body.from === undefined ? undefined : await requireEnvironment(store, params.app, body.from);

        const problems: Problem[] = [];
        const target = body.target ?? envType.defaultTarget ?? PROCESS_TARGET;
        const names = await targets.names();
        if (!names.includes(target)) {
          const how =
            body.target === undefined ? `the default target of environment type "${envType.name}"` : 'target';
          problems.push({
            path: 'target',
            message: `${how} "${target}" does not exist; the targets are ${names.join(', ')} (paved targets list; a Target is added with paved apply)`,
          });
        }
        const ttlSeconds =
          body.ttl === undefined ? envType.defaultTtlSeconds : parseDurationSeconds(body.ttl);
        if (problems.length > 0)
          throw PavedError.invalid(`${problems[0]!.path}: ${problems[0]!.message}`, problems);

        if ((await store.environments.get(params.app, body.name)) !== undefined) {
          throw new PavedError(
            'CONFLICT',
            `environment "${body.name}" of app "${params.app}" exists already; choose another name`,
            { details: { app: params.app, env: body.name } },
          );
        }
        const expiresAt =
          ttlSeconds === undefined
            ? undefined
            : new Date(clock.now().getTime() + ttlSeconds * 1000).toISOString();
        const actor = caller(principal).name;
        const created = await store.transaction(async (tx) => {
          const environment = await tx.environments.create({
            app: params.app,
            name: body.name,
            type: envType.name,
            target,
            createdBy: actor,
            ...(expiresAt === undefined ? {} : { expiresAt }),
            ...(source === undefined ? {} : { clonedFrom: source.name }),
          });
          if (source !== undefined) {
            // The clone starts with the source's values in force, as its first version. Secrets are
            // copied sealed: the envelope does not depend on the scope it is stored in.
            const values = await tx.values.list({ app: params.app, env: source.name });
            if (values.length > 0) {
              await tx.values.change(
                { app: params.app, env: environment.name },
                { set: values.map(({ key, value, secret }) => ({ key, value, secret })) },
                actor,
              );
            }
          }
          return environment;
        });
        return environmentToWire(created);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/envs/{env}',
      permission: 'envs.read',
      summary: 'Get an environment',
      params: envParams,
      response: environmentSchema,
      scope: async ({ params }, store) => environmentScope(store, params.app, params.env),
      handler: async ({ params, server }) =>
        environmentToWire(await requireEnvironment(server.store, params.app, params.env)),
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/apps/{app}/envs/{env}',
      permission: 'envs.delete',
      summary: 'Delete an environment and its values',
      description:
        'Stops and removes its workloads, deprovisions its resources, then removes its records (deployments, resources, routes). Stateful resources (databases, volumes) keep their data unless `deleteData=true`; the answer lists what was deprovisioned, what was kept, and what drivers reported (dump files written before data was deleted).',
      params: envParams,
      query: z.object({
        deleteData: z
          .enum(['true', 'false'], { error: 'deleteData is true or false' })
          .optional()
          .meta({ description: 'Also delete stateful resources (databases, volumes).' }),
      }),
      response: environmentTeardownSchema,
      scope: async ({ params }, store) => environmentScope(store, params.app, params.env),
      handler: async ({ params, query, server, principal }) => {
        const environment = await requireEnvironment(server.store, params.app, params.env);
        // What runs for the environment goes first, then its resources (stateful ones only with
        // deleteData); the store then removes its records with it.
        const teardown = (await server.deployments?.destroyEnvironment(
          environment,
          query.deleteData === 'true',
          principal?.name,
        )) ?? { deprovisioned: [], kept: [], messages: [] };
        await server.store.transaction(async (store) => {
          await requireEnvironment(store, params.app, params.env);
          await store.values.deleteScope({ app: params.app, env: params.env });
          await store.environments.delete(params.app, params.env);
        });
        return teardown;
      },
    }),
  ];
}

const environmentTeardownSchema = z.object({
  deprovisioned: z.array(z.string()).meta({ description: 'Resources deprovisioned, by uid.' }),
  kept: z
    .array(z.string())
    .meta({ description: 'Stateful resources kept with their data (no deleteData), by uid.' }),
  messages: z
    .array(z.string())
    .meta({ description: 'What drivers reported, e.g. where a dump was written.' }),
});

export function environmentToWire(environment: Environment): z.input<typeof environmentSchema> {
  return {
    app: environment.app,
    name: environment.name,
    type: environment.type,
    target: environment.target,
    createdAt: environment.createdAt,
    createdBy: environment.createdBy,
    ...(environment.expiresAt === undefined ? {} : { expiresAt: environment.expiresAt }),
    ...(environment.clonedFrom === undefined ? {} : { clonedFrom: environment.clonedFrom }),
  };
}
