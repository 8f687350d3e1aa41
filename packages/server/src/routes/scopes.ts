import { PavedError, type AuthorizationScope } from '@paved/core';
import type { Store } from '@paved/store';
import type { AuthenticatedPrincipal } from '../auth/authenticated-principal.js';
import type { RouteInput } from './route.js';

/**
 * The answer for an app that does not exist — and, word for word, for one the caller may not see,
 * so that the two cannot be told apart. The same as `requireApp` in lookups.ts gives.
 */
export function appNotFound(app: string): PavedError {
  return new PavedError(
    'NOT_FOUND',
    `app "${app}" does not exist; create it first (paved apps create ${app})`,
    {
      details: { app },
    },
  );
}

/**
 * The scope of a request about `app`. The team that owns the app is not looked up here: the
 * pipeline fetches it only when the caller's own grants do not decide and a team could
 * (`withAppTeam`), which spares most requests a query.
 */
export async function appScope(_store: Store, app: string): Promise<AuthorizationScope> {
  return { app };
}

/** The scope with the team that owns its app, when the app exists and names one. */
export async function withAppTeam(store: Store, scope: AuthorizationScope): Promise<AuthorizationScope> {
  if (scope.app === undefined || scope.appTeam !== undefined) return scope;
  const found = await store.apps.get(scope.app);
  return found?.team === undefined ? scope : { ...scope, appTeam: found.team };
}

/**
 * The scope of a request about one environment: its app and, when the environment exists, its
 * type. A missing environment leaves the type out, so only grants wider than one type apply and
 * the handler answers 404.
 */
export async function environmentScope(store: Store, app: string, env: string): Promise<AuthorizationScope> {
  const environment = await store.environments.get(app, env);
  return { app, ...(environment === undefined ? {} : { envType: environment.type }) };
}

/** Without a declared scope, a route is about the app its path names, or about the organisation. */
export async function defaultScope(
  input: RouteInput<unknown, unknown, unknown>,
  store: Store,
): Promise<AuthorizationScope> {
  const app = (input.params as { app?: unknown } | undefined)?.app;
  if (typeof app !== 'string') return {};
  return appScope(store, app);
}

/** The caller of a route that is not public; the pipeline guarantees there is one. */
export function caller(principal: AuthenticatedPrincipal | undefined): AuthenticatedPrincipal {
  if (principal === undefined) {
    throw new PavedError(
      'INTERNAL',
      'a route that needs a caller was declared public; declare its permission',
    );
  }
  return principal;
}
