import type { AuthorizationScope, Permission } from '@paved/core';
import type { AuditActorKind, Store } from '@paved/store';
import type { z } from 'zod';
import type { AuthenticatedPrincipal } from '../auth/authenticated-principal.js';
import type { ServerContext } from '../server-context.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a route needs: `public` (no token), or one permission of the closed PERMISSIONS table. */
export type RoutePermission = Permission | 'public';

/** The validated parts of a request. */
export interface RouteInput<Params, Query, Body> {
  params: Params;
  query: Query;
  body: Body;
}

/**
 * What a handler may add to the audit entry of its request: who acted, on a public route that
 * establishes it (a login names the user it logged in), and details such as the id of a token it
 * created. Never secrets.
 */
export interface AuditAnnotations {
  actor?: { id?: string; name: string; kind: AuditActorKind; tokenId?: string };
  details: Record<string, unknown>;
}

export interface RouteContext<Params, Query, Body> extends RouteInput<Params, Query, Body> {
  /** The caller; undefined only on public routes. */
  principal: AuthenticatedPrincipal | undefined;
  requestId: string;
  server: ServerContext;
  /** The raw request, for routes whose body is not JSON (uploads) or that stream. */
  request: Request;
  /** Additions to the request's audit entry. */
  audit: AuditAnnotations;
  /** The peer address of the connection, when there is one (not in in-process tests). */
  remoteAddress: string | undefined;
}

/**
 * Tells the authorisation check what a request is about. Without one, a route whose path has an
 * `{app}` parameter is about that app (and its owning team); other routes are about the
 * organisation. Routes needing an `env-type` permission must name the environment type here.
 */
export type ScopeResolver<Params, Query, Body> = (
  input: RouteInput<Params, Query, Body>,
  store: Store,
) => Promise<AuthorizationScope>;

export interface RouteDefinition<
  ParamsSchema extends z.ZodType,
  QuerySchema extends z.ZodType,
  BodySchema extends z.ZodType,
  ResponseSchema extends z.ZodType,
> {
  method: HttpMethod;
  /** OpenAPI-style path, e.g. `/api/v1/apps/{app}`. */
  path: string;
  permission: RoutePermission;
  summary: string;
  description?: string;
  /** An object schema whose keys are exactly the `{…}` parameters of `path`. */
  params?: ParamsSchema;
  query?: QuerySchema;
  body?: BodySchema;
  /** The schema of a successful answer; documents the route in the OpenAPI document. */
  response: ResponseSchema;
  /** Status of a successful answer; 200 by default. 204 answers have no body. */
  status?: 200 | 201 | 204;
  /** Media type of a successful answer; `application/json` by default. */
  produces?: string;
  /** Largest JSON body this route accepts, when it needs more than the server's default (1 MiB). */
  bodyLimitBytes?: number;
  scope?: ScopeResolver<z.output<ParamsSchema>, z.output<QuerySchema>, z.output<BodySchema>>;
  /**
   * A second permission some requests of the route need besides `permission`, checked in the
   * same scope after validation; e.g. deleting an environment's data with the environment.
   */
  alsoRequires?: (
    input: RouteInput<z.output<ParamsSchema>, z.output<QuerySchema>, z.output<BodySchema>>,
  ) => Permission | undefined;
  /**
   * Answers the request. Returns the response body (serialised as JSON), or a ready `Response`
   * for answers that are not JSON.
   */
  handler: (
    context: RouteContext<z.output<ParamsSchema>, z.output<QuerySchema>, z.output<BodySchema>>,
  ) => Promise<z.input<ResponseSchema> | Response>;
}

/** A route with its schema types erased, as the registry keeps it. */
export type AnyRoute = RouteDefinition<z.ZodType, z.ZodType, z.ZodType, z.ZodType>;

/**
 * Declares one route of the API: its path, the permission it needs, the schemas that validate its
 * input and document its answer, and its handler. Typing the handler from the schemas is all this
 * does; `RouteRegistry.register` checks the declaration.
 *
 * @example
 * defineRoute({
 *   method: 'GET', path: '/api/v1/apps/{app}', permission: 'apps.read', summary: 'Get an app',
 *   params: z.object({ app: appName }), response: appSchema,
 *   handler: async ({ params, server }) => getApp(server.store, params.app),
 * });
 */
export function defineRoute<
  ParamsSchema extends z.ZodType = z.ZodUndefined,
  QuerySchema extends z.ZodType = z.ZodUndefined,
  BodySchema extends z.ZodType = z.ZodUndefined,
  ResponseSchema extends z.ZodType = z.ZodType,
>(route: RouteDefinition<ParamsSchema, QuerySchema, BodySchema, ResponseSchema>): AnyRoute {
  return route;
}

/** The `{name}` parameters of an OpenAPI-style path, in order. */
export function pathParameters(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1] ?? '');
}

/** `/apps/{app}` → `/apps/:app`, the form Hono's router takes. */
export function toHonoPath(path: string): string {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
}
