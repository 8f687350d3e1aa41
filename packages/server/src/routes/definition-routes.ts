import { authorize, PavedError } from '@paved/core';
import { builtinDrivers, defaultDefinitions } from '@paved/drivers';
import type { StoredResourceDefinition } from '@paved/store';
import { z } from 'zod';
import { accessPermissions } from '../auth/access-documents.js';
import { applyBodySchema, applyDefinitions } from '../platform/apply-definitions.js';
import { explainResource } from '../platform/explain-resource.js';
import { PLATFORM_SCHEMA_PATH, platformJsonSchema } from '../platform/platform-schema.js';
import { defineRoute, type AnyRoute } from './route.js';
import { appName, envName, pageOf } from './schemas.js';
import { caller } from './scopes.js';

const criterionSchema = z.object({
  env_type: z.string().optional(),
  env: z.string().optional(),
  app: z.string().optional(),
  res_id: z.string().optional(),
  class: z.string().optional(),
});

export const definitionSchema = z.object({
  name: z.string(),
  version: z.number().int(),
  type: z.string(),
  class: z.string().optional(),
  driver: z.string(),
  inputs: z.object({
    values: z.record(z.string(), z.unknown()),
    secretKeys: z
      .array(z.string())
      .meta({ description: 'Names of the secret inputs; their values are never returned.' }),
    secretRefs: z
      .record(z.string(), z.union([z.object({ env: z.string() }), z.object({ file: z.string() })]))
      .meta({ description: 'Where the operator keeps each secret (as applied), never its value.' }),
  }),
  criteria: z.array(criterionSchema),
  stateful: z.boolean(),
  createdAt: z.string(),
  createdBy: z.string(),
});

export const applyResultSchema = z.object({
  created: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  items: z.array(
    z.object({ kind: z.string(), name: z.string(), action: z.enum(['created', 'updated', 'unchanged']) }),
  ),
});

export const explanationSchema = z.object({
  app: z.string(),
  env: z.string(),
  workload: z.string(),
  resource: z.string(),
  uid: z.string(),
  type: z.string(),
  class: z.string(),
  id: z.string(),
  winner: z.object({ name: z.string(), version: z.number().int() }).nullable(),
  candidates: z.array(
    z.object({
      name: z.string(),
      version: z.number().int(),
      fallback: z.boolean(),
      matched: z.boolean(),
      specificity: z.number().int(),
      reason: z.string(),
    }),
  ),
  active: z
    .object({ definition: z.string(), definitionVersion: z.number().int(), status: z.string() })
    .optional(),
});

export const definitionDeletionSchema = z.object({
  name: z.string(),
  forced: z.boolean(),
  resources: z
    .array(
      z.object({
        app: z.string(),
        env: z.string(),
        uid: z.string(),
        status: z.string(),
        definitionVersion: z.number().int(),
      }),
    )
    .meta({ description: 'Active resources the definition made: they keep their records.' }),
  message: z.string(),
});

/** `paved apply`, reading resource definitions back, deleting one, and explaining a match. */
export function definitionRoutes(): AnyRoute[] {
  // Built once: drivers are stateless, and apply only reads their ids and input schemas.
  const drivers = builtinDrivers();
  // Made once, on first use: the schemas it is generated from are fixed.
  let schema: Record<string, unknown> | undefined;
  return [
    defineRoute({
      method: 'POST',
      path: '/api/v1/apply',
      permission: 'platform.apply',
      summary:
        'Apply platform configuration (resource definitions, environment types, targets, users, teams and role bindings)',
      description:
        'Every document of every kind is checked first and every problem is reported at once with its file and line; nothing is stored unless all are valid, and then everything is written in one transaction. Secret inputs arrive resolved (the CLI reads the references) and are stored encrypted. Applying unchanged documents changes nothing. `User` and `RoleBinding` documents (and a `Team` with `members`) also need `users.manage`, `Team` documents `teams.manage`: what the user, team and role-binding routes need.',
      body: applyBodySchema,
      response: applyResultSchema,
      // Platform configuration can hold many documents.
      bodyLimitBytes: 8 * 1024 * 1024,
      // Checked by the route handler (refusal audited with the permission); the handler checks
      // every other permission the documents need, for roles that hold one but not the other.
      alsoRequires: ({ body }) => accessPermissions(body.documents)[0],
      handler: async ({ body, server, principal }) => {
        const me = caller(principal);
        for (const permission of accessPermissions(body.documents)) {
          const decision = authorize(me.subject, permission);
          if (!decision.allowed) {
            throw new PavedError(
              'FORBIDDEN',
              `not allowed: the documents include users, teams or role bindings, which need ${permission}: ${decision.reason}; ask an administrator, or apply the other documents without them`,
              { details: { permission } },
            );
          }
        }
        return applyDefinitions(body.documents, {
          store: server.store,
          secrets: server.secrets,
          drivers,
          actor: me.name,
          targets: server.targets,
        });
      },
    }),
    defineRoute({
      method: 'GET',
      path: PLATFORM_SCHEMA_PATH,
      // Not public: docs/contracts.md fixes the routes answered without a token. Editors that
      // cannot send one read the committed docs/schema/paved-v1.schema.json instead.
      permission: 'definitions.read',
      summary: 'The JSON schema of paved.dev/v1 platform configuration documents',
      description:
        'For editors and tools checking files before `paved apply`; see docs/platform-configuration.md. The same as docs/schema/paved-v1.schema.json.',
      response: z.record(z.string(), z.unknown()),
      handler: async () => (schema ??= platformJsonSchema()),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/envs/{env}/workloads/{workload}/resources/{resource}/explain',
      permission: 'resources.read',
      summary: "Explain which definition matches a workload's resource, and why the others do not",
      description:
        "Matches against the environment's current deployment and the definitions stored now; `active` is what the resource was last provisioned with.",
      params: z.object({
        app: appName,
        env: envName,
        workload: z.string().min(1),
        resource: z.string().min(1),
      }),
      response: explanationSchema,
      handler: async ({ params, server }) =>
        explainResource(server.store, params, async (name) => (await server.targets.get(name))?.type),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/resource-definitions',
      permission: 'definitions.read',
      summary: 'List resource definitions (latest versions, by name)',
      response: pageOf(definitionSchema),
      handler: async ({ server }) => ({
        items: (await server.store.definitions.list()).map(definitionToWire),
        next: null,
      }),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/resource-definitions/{name}',
      permission: 'definitions.read',
      summary: 'Get a resource definition (its latest version)',
      params: z.object({ name: z.string().min(1) }),
      response: definitionSchema,
      handler: async ({ params, server }) => {
        const definition = await server.store.definitions.get(params.name);
        if (definition === undefined) {
          throw new PavedError(
            'NOT_FOUND',
            `resource definition "${params.name}" does not exist; see paved resources definitions list`,
          );
        }
        return definitionToWire(definition);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/resource-definitions/{name}',
      permission: 'platform.apply',
      summary: 'Delete a resource definition; refused while active resources made by it exist, unless forced',
      description:
        'Refused with 409 naming the active resources (app, env, uid) the definition made, and nothing changes. With `force=true` it is deleted anyway: those resources keep their records (and the definition name and version recorded on them), and the next deployment of their environments matches them against the definitions left. Its version numbers are never reused.',
      params: z.object({ name: z.string().min(1) }),
      query: z.object({
        force: z
          .enum(['true', 'false'], { error: 'force is true or false' })
          .optional()
          .meta({ description: 'Delete even while active resources made by it exist.' }),
      }),
      response: definitionDeletionSchema,
      handler: async ({ params, query, server }) => {
        const force = query.force === 'true';
        return server.store.transaction(async (store) => {
          const definition = await store.definitions.get(params.name);
          if (definition === undefined) {
            const builtIn = defaultDefinitions().some((fallback) => fallback.name === params.name);
            throw new PavedError(
              'NOT_FOUND',
              builtIn
                ? `resource definition "${params.name}" is a built-in default, which cannot be deleted; apply a definition that matches instead, or one of the same name to replace it`
                : `resource definition "${params.name}" does not exist; see paved resources definitions list`,
              { details: { name: params.name } },
            );
          }
          const resources = (await store.resources.listByDefinition(params.name)).map((resource) => ({
            app: resource.app,
            env: resource.env,
            uid: resource.uid,
            status: resource.status,
            definitionVersion: resource.definitionVersion,
          }));
          const named = resources.map((resource) => `${resource.app}/${resource.env} ${resource.uid}`);
          if (resources.length > 0 && !force) {
            throw new PavedError(
              'CONFLICT',
              `resource definition "${params.name}" made ${resources.length} active resource${resources.length === 1 ? '' : 's'} (${named.join(', ')}); nothing was deleted: stop using ${resources.length === 1 ? 'it' : 'them'} first (deploy without ${resources.length === 1 ? 'it' : 'them'}, or delete the environment), or delete anyway with --force (?force=true), which keeps their records`,
              { details: { name: params.name, resources } },
            );
          }
          await store.definitions.delete(params.name);
          return {
            name: params.name,
            forced: force && resources.length > 0,
            resources,
            message:
              resources.length === 0
                ? `deleted resource definition "${params.name}"`
                : `deleted resource definition "${params.name}"; the ${resources.length} active resource${resources.length === 1 ? '' : 's'} it made (${named.join(', ')}) keep their records, and the next deployment of their environments matches them against the definitions left`,
          };
        });
      },
    }),
  ];
}

/** Secret inputs leave as key names only. */
export function definitionToWire(definition: StoredResourceDefinition): z.input<typeof definitionSchema> {
  return {
    name: definition.name,
    version: definition.version,
    type: definition.type,
    ...(definition.class === undefined ? {} : { class: definition.class }),
    driver: definition.driver,
    inputs: {
      values: definition.inputs.values,
      secretKeys: Object.keys(definition.inputs.secrets).sort(),
      secretRefs: definition.secretRefs,
    },
    criteria: definition.criteria,
    stateful: definition.stateful === true,
    createdAt: definition.createdAt,
    createdBy: definition.createdBy,
  };
}
