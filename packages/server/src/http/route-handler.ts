import { PavedError, authorize, mayHoldPermission, type Problem } from '@paved/core';
import type { Context, Handler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { authenticate } from '../auth/authenticate.js';
import type { AuthenticatedPrincipal } from '../auth/authenticated-principal.js';
import type { AnyRoute, RouteInput } from '../routes/route.js';
import { defaultScope } from '../routes/scopes.js';
import type { ServerContext } from '../server-context.js';
import type { PavedHonoEnv } from './hono-env.js';
import { readJsonBody } from './read-body.js';
import { zodProblems } from './zod-problems.js';

/**
 * Turns a route declaration into a Hono handler that does, in order: authenticate (401), refuse
 * callers who hold the permission nowhere (403), validate params, query and body completely (400,
 * 413), check the permission in the request's scope (403), and only then run the handler. A
 * handler therefore never sees an unauthorised or invalid request.
 */
export function routeHandler(
  route: AnyRoute,
  server: ServerContext,
  bodyLimit: number,
): Handler<PavedHonoEnv> {
  return async (c) => {
    c.set('routePattern', route.path);
    let principal: AuthenticatedPrincipal | undefined;
    if (route.permission !== 'public') {
      principal = await authenticate(c.req.header('authorization'), server.store, server.clock);
      if (!mayHoldPermission(principal.subject, route.permission)) {
        throw forbidden(authorize(principal.subject, route.permission).reason, route);
      }
    }

    const input = await validatedInput(route, c, route.bodyLimitBytes ?? bodyLimit);

    if (principal !== undefined && route.permission !== 'public') {
      const scope = await (route.scope ?? defaultScope)(input, server.store);
      const decision = authorize(principal.subject, route.permission, scope);
      if (!decision.allowed) throw forbidden(decision.reason, route);
    }

    const result = await route.handler({
      ...input,
      principal,
      requestId: c.get('requestId'),
      server,
      request: c.req.raw,
    });
    if (result instanceof Response) return result;
    const status = route.status ?? 200;
    if (status === 204) return c.body(null, 204);
    return c.json(result, status as ContentfulStatusCode);
  };
}

async function validatedInput(
  route: AnyRoute,
  c: Context<PavedHonoEnv>,
  bodyLimit: number,
): Promise<RouteInput<unknown, unknown, unknown>> {
  const problems: Problem[] = [];
  const parse = (schema: z.ZodType | undefined, raw: unknown, prefix?: string): unknown => {
    if (schema === undefined) return undefined;
    const result = schema.safeParse(raw);
    if (result.success) return result.data;
    problems.push(...zodProblems(result.error.issues, prefix));
    return undefined;
  };
  const params = parse(route.params, c.req.param(), 'params');
  const query = parse(route.query, c.req.query(), 'query');
  // The body is read only for routes that take one; the size limit applies while reading.
  const body =
    route.body === undefined ? undefined : parse(route.body, await readJsonBody(c.req.raw, bodyLimit));
  if (problems.length > 0) {
    const first = problems[0]!;
    const more =
      problems.length > 1
        ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})`
        : '';
    throw PavedError.invalid(
      `invalid request to ${route.method} ${route.path}: ${first.path === '' ? '' : `${first.path}: `}${first.message}${more}`,
      problems,
    );
  }
  return { params, query, body };
}

function forbidden(reason: string, route: AnyRoute): PavedError {
  return new PavedError(
    'FORBIDDEN',
    `not allowed: ${reason}; ask an administrator for a role that grants it`,
    {
      details: { permission: route.permission },
    },
  );
}
