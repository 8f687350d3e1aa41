import { PavedError, grantProblem, type GrantScope } from '@paved/core';
import type { Store } from '@paved/store';
import { z } from 'zod';
import { grantsToWire, resolveSubject } from './access-lookups.js';
import { roleBindingSchema, subjectRef } from './access-schemas.js';
import { requireApp, requireEnvType } from './lookups.js';
import { defineRoute, type AnyRoute } from './route.js';
import { appName, envTypeName, pageOf } from './schemas.js';
import { caller } from './scopes.js';

const role = z.string().min(1).max(64);

/**
 * Role bindings: who holds which role where. Any binding through `/role-bindings`
 * (`users.manage`: administrators); an app's own roles through `/apps/{app}/role-bindings`
 * (`apps.members`: the app's owners).
 */
export function roleBindingRoutes(): AnyRoute[] {
  const orgBinding = z
    .strictObject({
      role,
      subject: subjectRef,
      app: appName.optional().meta({ description: 'For app roles: the app.' }),
      envType: envTypeName.optional().meta({ description: 'For environment-type roles: the type.' }),
    })
    .refine((body) => body.app === undefined || body.envType === undefined, {
      message: 'give "app" or "envType", not both',
    });
  const appBinding = z.strictObject({ role, subject: subjectRef });
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/role-bindings',
      permission: 'users.manage',
      summary: 'List role bindings, optionally of one subject, role, app or environment type',
      query: z.object({
        subject: subjectRef.optional(),
        role: role.optional(),
        app: appName.optional(),
        envType: envTypeName.optional(),
      }),
      response: pageOf(roleBindingSchema),
      handler: async ({ query, server }) => {
        const subject =
          query.subject === undefined ? undefined : await resolveSubject(server.store, query.subject);
        const scope: GrantScope | undefined =
          query.app !== undefined
            ? { kind: 'app', app: query.app }
            : query.envType !== undefined
              ? { kind: 'env-type', envType: query.envType }
              : undefined;
        const grants = await server.store.grants.list({
          ...(subject === undefined ? {} : { subject }),
          ...(query.role === undefined ? {} : { role: query.role }),
          ...(scope === undefined ? {} : { scope }),
        });
        return { items: await grantsToWire(server.store, grants), next: null };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/role-bindings',
      permission: 'users.manage',
      summary: 'Grant a role: on the organisation, an app (`app`) or an environment type (`envType`)',
      body: orgBinding,
      response: roleBindingSchema,
      status: 201,
      handler: async ({ body, server, audit }) => {
        const scope = await bindingScope(server.store, body);
        return grant(server.store, body.role, body.subject, scope, audit.details);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/role-bindings',
      permission: 'users.manage',
      summary: 'Revoke a role binding',
      query: z.object({
        role,
        subject: subjectRef,
        app: appName.optional(),
        envType: envTypeName.optional(),
      }),
      response: z.undefined(),
      status: 204,
      handler: async ({ query, principal, server, audit }) => {
        const scope = scopeOf(query);
        const subject = await resolveSubject(server.store, query.subject);
        if (query.role === 'administrator' && scope.kind === 'org' && subject === caller(principal).id) {
          throw PavedError.invalid(
            'you cannot revoke your own administrator role; ask another administrator, so that one is always left',
            [{ path: 'query.subject', message: 'the caller' }],
          );
        }
        await revoke(server.store, query.role, query.subject, subject, scope, audit.details);
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/role-bindings',
      permission: 'apps.members',
      summary: 'List the roles held on an app: its members',
      params: z.object({ app: appName }),
      response: pageOf(roleBindingSchema),
      handler: async ({ params, server }) => {
        await requireApp(server.store, params.app);
        const grants = await server.store.grants.list({ scope: { kind: 'app', app: params.app } });
        return { items: await grantsToWire(server.store, grants), next: null };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps/{app}/role-bindings',
      permission: 'apps.members',
      summary: 'Grant an app role (viewer, developer, owner) on the app',
      params: z.object({ app: appName }),
      body: appBinding,
      response: roleBindingSchema,
      status: 201,
      handler: async ({ params, body, server, audit }) => {
        await requireApp(server.store, params.app);
        return grant(server.store, body.role, body.subject, { kind: 'app', app: params.app }, audit.details);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/apps/{app}/role-bindings',
      permission: 'apps.members',
      summary: 'Revoke an app role on the app',
      params: z.object({ app: appName }),
      query: z.object({ role, subject: subjectRef }),
      response: z.undefined(),
      status: 204,
      handler: async ({ params, query, server, audit }) => {
        await requireApp(server.store, params.app);
        const subject = await resolveSubject(server.store, query.subject);
        await revoke(
          server.store,
          query.role,
          query.subject,
          subject,
          { kind: 'app', app: params.app },
          audit.details,
        );
        return undefined;
      },
    }),
  ];
}

function scopeOf(where: { app?: string | undefined; envType?: string | undefined }): GrantScope {
  if (where.app !== undefined) return { kind: 'app', app: where.app };
  if (where.envType !== undefined) return { kind: 'env-type', envType: where.envType };
  return { kind: 'org' };
}

async function bindingScope(
  store: Store,
  where: { app?: string | undefined; envType?: string | undefined },
): Promise<GrantScope> {
  if (where.app !== undefined) await requireApp(store, where.app);
  if (where.envType !== undefined) await requireEnvType(store, where.envType);
  return scopeOf(where);
}

async function grant(
  store: Store,
  role: string,
  subjectRef: string,
  scope: GrantScope,
  details: Record<string, unknown>,
): Promise<z.input<typeof roleBindingSchema>> {
  const problem = grantProblem(role, scope);
  if (problem !== undefined) throw PavedError.invalid(problem, [{ path: 'role', message: problem }]);
  const subject = await resolveSubject(store, subjectRef);
  Object.assign(details, { role, subject: subjectRef, scope });
  const created = await store.grants.grant({ subject, role, scope });
  const [wire] = await grantsToWire(store, [created]);
  return wire!;
}

async function revoke(
  store: Store,
  role: string,
  subjectRef: string,
  subject: string,
  scope: GrantScope,
  details: Record<string, unknown>,
): Promise<void> {
  Object.assign(details, { role, subject: subjectRef, scope });
  if (!(await store.grants.revoke({ subject, role, scope }))) {
    throw new PavedError('NOT_FOUND', `${subjectRef} does not hold role "${role}" there; nothing to revoke`, {
      details: { role, subject: subjectRef, scope },
    });
  }
}
