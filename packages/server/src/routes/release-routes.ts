import { PavedError } from '@paved/core';
import type { DeploymentSet } from '@paved/store';
import { z } from 'zod';
import { promote, rollback } from '../deployments/releases.js';
import { deploymentToWire, requireEngine } from './deployment-routes.js';
import { deploymentPlanSchema, deploymentSchema, deploymentSetSchema } from './deployment-schemas.js';
import { requireApp, requireEnvironment } from './lookups.js';
import { defineRoute, type AnyRoute } from './route.js';
import { appName, envName } from './schemas.js';
import { caller, environmentScope } from './scopes.js';

const envParams = z.object({ app: appName, env: envName });
const message = z.string().max(1000).optional().meta({ description: 'Why: kept with the deployment.' });

/**
 * Deployment sets, rollback and promotion. Rolling back and promoting deploy into the
 * environment of the path, so they need what deploying there needs (`deployments.create` in
 * that environment's scope, the `deployer` role where its type requires it).
 */
export function releaseRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps/{app}/envs/{env}/rollback',
      permission: 'deployments.create',
      summary: "Deploy a previous deployment's set and values again, as a new deployment",
      description:
        'Deploys exactly the set of deployment `deployment` (workloads it did not run are removed) and restores the app-level and environment-level values to the versions it pinned, writing one new values version per scope where they differ (its history says it was restored by this rollback). Only a succeeded deployment can be rolled back to (409 otherwise). Data is never touched: stateful resources the old deployment did not use are detached and kept. Answers 201 with the queued deployment.',
      params: envParams,
      body: z.object({
        deployment: z
          .number()
          .int()
          .min(1)
          .meta({ description: 'The number of the deployment to roll back to.' }),
        message,
      }),
      response: deploymentSchema,
      status: 201,
      scope: async ({ params }, store) => environmentScope(store, params.app, params.env),
      handler: async ({ params, body, principal, server }) => {
        const engine = requireEngine(server);
        const environment = await requireEnvironment(server.store, params.app, params.env);
        return deploymentToWire(
          await rollback(engine, environment, body.deployment, caller(principal).name, body.message),
        );
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps/{app}/envs/{env}/promote',
      permission: 'deployments.create',
      summary:
        'Deploy another environment\'s current set to this one (or, with "plan": true, show what would change)',
      description:
        "Deploys the set the `from` environment runs now (its last succeeded deployment) to this environment, exactly: workloads the set lacks are removed here. This environment's own values and matching resource definitions are used. Answers 201 with the queued deployment, or 200 with the plan (nothing created).",
      params: envParams,
      body: z.object({
        from: envName.meta({ description: 'The environment whose current set is promoted.' }),
        plan: z.boolean().optional(),
        message,
      }),
      response: z.union([deploymentSchema, deploymentPlanSchema]),
      status: 201,
      scope: async ({ params }, store) => environmentScope(store, params.app, params.env),
      handler: async ({ params, body, principal, server }) => {
        const engine = requireEngine(server);
        const environment = await requireEnvironment(server.store, params.app, params.env);
        const result = await promote(engine, environment, body.from, caller(principal).name, {
          ...(body.plan === undefined ? {} : { plan: body.plan }),
          ...(body.message === undefined ? {} : { message: body.message }),
        });
        if (!('number' in result)) {
          return new Response(JSON.stringify(result), {
            status: 200,
            headers: { 'content-type': 'application/json' },
          });
        }
        return deploymentToWire(result);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/sets/{setId}',
      permission: 'deployments.read',
      summary: 'Get a deployment set: the workloads a deployment runs, by content hash',
      params: z.object({
        app: appName,
        setId: z
          .string()
          .regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 lower-case hex digits>')
          .meta({ description: 'The set id, as a deployment shows it (`setId`).' }),
      }),
      response: deploymentSetSchema,
      handler: async ({ params, server }) => {
        await requireApp(server.store, params.app);
        const set = await server.store.sets.get(params.app, params.setId);
        if (set === undefined) {
          throw new PavedError(
            'NOT_FOUND',
            `app "${params.app}" has no deployment set ${params.setId}; a deployment's setId names one (paved deployments get)`,
            { details: { app: params.app, setId: params.setId } },
          );
        }
        return setToWire(set);
      },
    }),
  ];
}

function setToWire(set: DeploymentSet): z.input<typeof deploymentSetSchema> {
  return {
    app: set.app,
    id: set.id,
    createdAt: set.createdAt,
    createdBy: set.createdBy,
    workloads: set.workloads.map((workload) => ({
      name: workload.name,
      file: workload.file,
      score: workload.score,
      contexts: workload.contexts,
      images: workload.images,
      fileSources: Object.fromEntries(
        Object.entries(workload.fileSources).map(([path, content]) => [path, Buffer.byteLength(content)]),
      ),
    })),
  };
}
