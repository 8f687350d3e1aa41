import { diffDeployments, PavedError } from '@paved/core';
import type { Deployment } from '@paved/store';
import { z } from 'zod';
import type { ServerContext } from '../server-context.js';
import { requireEnvironment } from './lookups.js';
import { defineRoute, type AnyRoute } from './route.js';
import { appName } from './schemas.js';
import { appScope } from './scopes.js';

const DEPLOYMENT_REF = /^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?):([1-9]\d{0,9})$/;

const deploymentRef = (which: string) =>
  z
    .string()
    .regex(DEPLOYMENT_REF, {
      error: `${which} must be ENV:N, an environment name and a deployment number, e.g. dev:7`,
    })
    .meta({ description: `The ${which} deployment, as ENV:N (e.g. \`staging:12\`).` });

const fieldChangeSchema = z.object({
  field: z.string(),
  before: z.string().optional(),
  after: z.string().optional(),
});

const sideSchema = z.object({
  app: z.string(),
  env: z.string(),
  number: z.number().int(),
  setId: z.string(),
});

const changeKind = z.enum(['added', 'removed', 'changed']);

export const deploymentDiffSchema = z.object({
  from: sideSchema,
  to: sideSchema,
  sameSet: z.boolean().meta({ description: 'Both run the same deployment set.' }),
  identical: z.boolean().meta({ description: 'No workload or resource differs.' }),
  workloads: z.array(z.object({ name: z.string(), change: changeKind, changes: z.array(fieldChangeSchema) })),
  resources: z.array(z.object({ uid: z.string(), change: changeKind, changes: z.array(fieldChangeSchema) })),
  notes: z.array(z.string()).meta({ description: 'What could not be compared, and why.' }),
});

function parseRef(text: string): { env: string; number: number } {
  const match = DEPLOYMENT_REF.exec(text);
  if (match === null) {
    // The query schema already refuses this; kept so the handler never trusts an unchecked value.
    throw PavedError.invalid(`"${text}" is not ENV:N (e.g. dev:7)`, [
      { path: '', message: 'expected ENV:N' },
    ]);
  }
  return { env: match[1] as string, number: Number(match[2]) };
}

async function requireRecorded(server: ServerContext, app: string, ref: string): Promise<Deployment> {
  const { env, number } = parseRef(ref);
  await requireEnvironment(server.store, app, env);
  const deployment = await server.store.deployments.get(app, env, number);
  if (deployment === undefined) {
    throw new PavedError(
      'NOT_FOUND',
      `deployment ${number} of ${app}/${env} does not exist; paved deployments list ${app} ${env} shows them`,
      { details: { app, env, deployment: number } },
    );
  }
  return deployment;
}

/** `deployments diff`: two recorded deployments of an app, of one environment or two, compared. */
export function deploymentDiffRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/deployments/diff',
      permission: 'deployments.read',
      summary: 'Compare two deployments of an app, in one environment or across two',
      description:
        'Workloads added, removed or changed (code, Score file, images and digests, variables, files, ports, limits) and resources added, removed or changed (definition, driver, params). Secret values are never shown or compared: a secret appears only when it is added or removed.',
      params: z.object({ app: appName }),
      query: z.object({ from: deploymentRef('from'), to: deploymentRef('to') }),
      response: deploymentDiffSchema,
      scope: async ({ params }, store) => appScope(store, params.app),
      handler: async ({ params, query, server }) => {
        const from = await requireRecorded(server, params.app, query.from);
        const to = await requireRecorded(server, params.app, query.to);
        return diffDeployments(from, to);
      },
    }),
  ];
}
