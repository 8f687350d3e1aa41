import { PERMISSIONS, PavedError, isPermission } from '@paved/core';
import { z } from 'zod';
import { pathParameters, type AnyRoute } from './route.js';

/**
 * The API's route table. Routes are registered here, not on the HTTP app directly, so that every
 * route is checked when it is registered — above all that it declares a permission — and so that
 * the OpenAPI document and the authentication tests can walk every route there is.
 */
export class RouteRegistry {
  readonly #routes: AnyRoute[] = [];

  /** @throws PavedError INTERNAL when the declaration is incomplete or clashes with another. */
  register(route: AnyRoute): this {
    const problems = declarationProblems(route);
    const name = `${String(route.method)} ${String(route.path)}`;
    if (this.#routes.some((other) => other.method === route.method && other.path === route.path)) {
      problems.push('another route with the same method and path is registered already');
    }
    if (problems.length > 0) {
      throw new PavedError('INTERNAL', `route ${name} cannot be registered: ${problems.join('; ')}`, {
        details: { route: name, problems },
      });
    }
    this.#routes.push(route);
    return this;
  }

  get routes(): readonly AnyRoute[] {
    return this.#routes;
  }
}

function declarationProblems(route: AnyRoute): string[] {
  const problems: string[] = [];
  const permission: unknown = route.permission;
  if (permission === undefined || permission === null || permission === '') {
    problems.push(
      `it declares no permission; set "permission" to 'public' or one of ${Object.keys(PERMISSIONS).join(', ')}`,
    );
  } else if (permission !== 'public' && !isPermission(permission)) {
    problems.push(
      `permission ${JSON.stringify(permission)} is not in the PERMISSIONS table of @paved/core; use one of ${Object.keys(PERMISSIONS).join(', ')} or 'public'`,
    );
  }
  if (typeof route.path !== 'string' || !route.path.startsWith('/')) {
    problems.push('its path must start with "/"');
    return problems;
  }
  if (typeof route.handler !== 'function') problems.push('it has no handler');
  if (typeof route.summary !== 'string' || route.summary.trim() === '') {
    problems.push('it has no summary for the OpenAPI document');
  }

  const inPath = pathParameters(route.path);
  const declared = route.params instanceof z.ZodObject ? Object.keys(route.params.shape) : undefined;
  if (inPath.length > 0 && declared === undefined) {
    problems.push(
      `its path has parameters ${inPath.join(', ')} but "params" is not an object schema of them`,
    );
  } else if (declared !== undefined && [...declared].sort().join() !== [...inPath].sort().join()) {
    problems.push(
      `"params" declares ${declared.join(', ') || 'nothing'} but the path has ${inPath.join(', ') || 'none'}`,
    );
  }

  if (isPermission(permission)) {
    const scope = PERMISSIONS[permission].scope;
    if (scope === 'app' && route.scope === undefined && !inPath.includes('app')) {
      problems.push(
        `permission ${permission} is checked per app, so the path needs an {app} parameter or the route a "scope"`,
      );
    }
    if (scope === 'env-type' && route.scope === undefined) {
      problems.push(
        `permission ${permission} is checked per environment type, so the route needs a "scope" naming it`,
      );
    }
  }
  return problems;
}
