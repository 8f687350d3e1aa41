/** Operations on one active resource of an environment beyond listing and deleting it. */
import { z } from 'zod';
import { requireEngine } from './deployment-routes.js';
import { requireEnvironment } from './lookups.js';
import { defineRoute, type AnyRoute } from './route.js';
import { appName, envName } from './schemas.js';
import { caller, environmentScope } from './scopes.js';

const resourceParams = z.object({ app: appName, env: envName, uid: z.string().min(1).max(500) });

const rotationSchema = z.object({
  uid: z.string(),
  deployment: z
    .number()
    .int()
    .meta({ description: 'The deployment that redeployed the workloads with the new credentials.' }),
  revoked: z.boolean().meta({
    description:
      'Whether the previous credentials were revoked: only once that deployment succeeded; otherwise both keep working.',
  }),
  messages: z
    .array(z.string())
    .meta({ description: 'What the driver and the engine reported; never secrets.' }),
});

/** `paved resources rotate-credentials`. */
export function resourceRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps/{app}/envs/{env}/resources/{uid}/rotate-credentials',
      // A rotation redeploys the environment, so it takes what deploying takes, scoped like a deploy.
      permission: 'deployments.create',
      summary: 'Rotate the credentials of an active resource, redeploying its environment with them',
      description:
        "The resource's driver sets up new credentials while the current ones keep working; they are stored (secrets sealed), a deployment redeploys the current workloads unchanged so they start with them, and the answer comes once it has finished. Only if it succeeded are the previous credentials revoked (`revoked: true`); if it failed both keep working. Refused with 409 while a deployment of the environment is queued or running, or when nothing uses the resource (detached); 404 for an unknown resource; 400 when its driver hands out no credentials.",
      params: resourceParams,
      response: rotationSchema,
      scope: async ({ params }, store) => environmentScope(store, params.app, params.env),
      handler: async ({ params, server, principal }) => {
        const environment = await requireEnvironment(server.store, params.app, params.env);
        return requireEngine(server).rotateCredentials(environment, params.uid, caller(principal).name);
      },
    }),
  ];
}
