import { PavedError, type AuthorizationScope } from '@paved/core';
import type { Store } from '@paved/store';
import type { AuthenticatedPrincipal } from '../auth/authenticated-principal.js';
import type { RouteInput } from './route.js';

/** The scope of a request about `app`, with the team that owns it when the app exists. */
export async function appScope(store: Store, app: string): Promise<AuthorizationScope> {
  const found = await store.apps.get(app);
  return { app, ...(found?.team === undefined ? {} : { appTeam: found.team }) };
}

/**
 * The scope of a request about one environment: its app and, when the environment exists, its
 * type. A missing environment leaves the type out, so only grants wider than one type apply and
 * the handler answers 404.
 */
export async function environmentScope(store: Store, app: string, env: string): Promise<AuthorizationScope> {
  const [scope, environment] = await Promise.all([appScope(store, app), store.environments.get(app, env)]);
  return { ...scope, ...(environment === undefined ? {} : { envType: environment.type }) };
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
