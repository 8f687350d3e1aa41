import type { Store, ValueChange, ValueEntry, ValueScope } from '@paved/store';
import { z } from 'zod';
import { requireApp, requireEnvironment } from './lookups.js';
import { defineRoute, type AnyRoute, type ScopeResolver } from './route.js';
import { appName, envName, pageOf, pageQuery, valueChangeSchema, valueKey, valueSchema } from './schemas.js';
import { appScope, caller, environmentScope } from './scopes.js';

/** Largest single value; the request as a whole is limited separately. */
const MAX_VALUE_LENGTH = 64 * 1024;

const changeBody = z
  .strictObject({
    set: z
      .array(
        z.strictObject({
          key: valueKey,
          value: z
            .string()
            .max(MAX_VALUE_LENGTH, { error: `a value has at most ${MAX_VALUE_LENGTH} characters` }),
          secret: z.boolean().optional().meta({
            description:
              'Store the value encrypted and never return it. Absent: the key keeps whether it is secret (new keys are not).',
          }),
        }),
      )
      .optional(),
    unset: z.array(valueKey).optional(),
  })
  .superRefine((body, context) => {
    const set = body.set ?? [];
    const unset = body.unset ?? [];
    if (set.length === 0 && unset.length === 0) {
      context.addIssue({
        code: 'custom',
        path: [],
        message: 'nothing to change: give "set", "unset" or both',
      });
    }
    const firstSet = new Map<string, number>();
    set.forEach(({ key }, index) => {
      const earlier = firstSet.get(key);
      if (earlier === undefined) firstSet.set(key, index);
      else
        context.addIssue({
          code: 'custom',
          path: ['set', index, 'key'],
          message: `${key} is set twice (also set[${earlier}])`,
        });
    });
    const unsetSeen = new Set<string>();
    unset.forEach((key, index) => {
      if (firstSet.has(key)) {
        context.addIssue({ code: 'custom', path: ['unset', index], message: `${key} is both set and unset` });
      } else if (unsetSeen.has(key)) {
        context.addIssue({ code: 'custom', path: ['unset', index], message: `${key} is unset twice` });
      }
      unsetSeen.add(key);
    });
  });

const listResponse = pageOf(valueSchema).extend({ version: z.number().int() });
const changeResponse = z.object({ version: z.number().int(), items: z.array(valueSchema) });

interface ScopeFlavour<Params> {
  path: string;
  params: z.ZodType<Params>;
  what: string;
  scope: ScopeResolver<Params, unknown, unknown>;
  /** The store scope, after checking it exists (NOT_FOUND otherwise). */
  resolve: (store: Store, params: Params) => Promise<ValueScope>;
}

const appFlavour: ScopeFlavour<{ app: string }> = {
  path: '/api/v1/apps/{app}/values',
  params: z.object({ app: appName }),
  what: "an app's",
  // The default (the app of the path) would do; spelled out so both flavours read alike.
  scope: async ({ params }, store) => appScope(store, params.app),
  resolve: async (store, params) => {
    await requireApp(store, params.app);
    return { app: params.app };
  },
};

const envFlavour: ScopeFlavour<{ app: string; env: string }> = {
  path: '/api/v1/apps/{app}/envs/{env}/values',
  params: z.object({ app: appName, env: envName }),
  what: "an environment's",
  scope: async ({ params }, store) => environmentScope(store, params.app, params.env),
  resolve: async (store, params) => {
    await requireEnvironment(store, params.app, params.env);
    return { app: params.app, env: params.env };
  },
};

export function valueRoutes(): AnyRoute[] {
  return [...routesFor(appFlavour), ...routesFor(envFlavour)];
}

function routesFor<Params>(flavour: ScopeFlavour<Params>): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: flavour.path,
      permission: 'values.read',
      summary: `List ${flavour.what} values (secret values are never returned)`,
      params: flavour.params,
      response: listResponse,
      scope: flavour.scope,
      handler: async ({ params, server }) => {
        const scope = await flavour.resolve(server.store, params);
        const [entries, version] = await Promise.all([
          server.store.values.list(scope),
          server.store.values.currentVersion(scope),
        ]);
        return { items: entries.map(valueToWire), next: null, version };
      },
    }),
    defineRoute({
      method: 'PATCH',
      path: flavour.path,
      permission: 'values.write',
      summary: `Set and unset ${flavour.what} values in one new version`,
      params: flavour.params,
      body: changeBody,
      response: changeResponse,
      scope: flavour.scope,
      handler: async ({ params, body, principal, server }) => {
        const actor = caller(principal).name;
        const scope = await flavour.resolve(server.store, params);
        const { version, entries } = await server.store.transaction(async (store) => {
          const current = new Map((await store.values.list(scope)).map((entry) => [entry.key, entry]));
          const set = (body.set ?? []).map(({ key, value, secret }) => {
            const isSecret = secret ?? current.get(key)?.secret ?? false;
            return { key, value: isSecret ? server.secrets.seal(value) : value, secret: isSecret };
          });
          const changed = await store.values.change(scope, { set, unset: body.unset ?? [] }, actor);
          return { version: changed, entries: await store.values.list(scope) };
        });
        return { version, items: entries.map(valueToWire) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: `${flavour.path}/history`,
      permission: 'values.read',
      summary: `The changes to ${flavour.what} values, newest first`,
      params: flavour.params,
      query: pageQuery,
      response: pageOf(valueChangeSchema),
      scope: flavour.scope,
      handler: async ({ params, query, server }) => {
        const scope = await flavour.resolve(server.store, params);
        const page = await server.store.values.history(scope, { ...query, limit: query.limit ?? 100 });
        return { items: page.items.map(changeToWire), next: page.next };
      },
    }),
  ];
}

/** A value on the wire: secret values are write-only and left out. */
export function valueToWire(entry: ValueEntry): z.input<typeof valueSchema> {
  return {
    key: entry.key,
    ...(entry.secret ? {} : { value: entry.value }),
    secret: entry.secret,
    version: entry.version,
    updatedAt: entry.updatedAt,
    updatedBy: entry.updatedBy,
  };
}

function changeToWire(change: ValueChange): z.input<typeof valueChangeSchema> {
  return {
    version: change.version,
    key: change.key,
    action: change.action,
    secret: change.secret,
    ...(change.secret || change.value === undefined ? {} : { value: change.value }),
    actor: change.actor,
    at: change.at,
    ...(change.note === undefined ? {} : { note: change.note }),
  };
}
