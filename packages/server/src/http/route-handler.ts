import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  PERMISSIONS,
  PavedError,
  authorize,
  mayHoldPermission,
  maySeeApp,
  type AuthorizationScope,
  type Permission,
  type Problem,
} from '@paved/core';
import type { AuditEntryInput, AuditOutcome } from '@paved/store';
import type { Context, Handler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { jsonPayloadDigest } from '../audit/payload-digest.js';
import { AuthenticationFailure, authenticate } from '../auth/authenticate.js';
import type { AuthenticatedPrincipal } from '../auth/authenticated-principal.js';
import { CSRF_HEADER } from '../auth/sessions.js';
import type { AnyRoute, AuditAnnotations, RouteInput } from '../routes/route.js';
import { appNotFound, defaultScope, withAppTeam } from '../routes/scopes.js';
import type { ServerContext } from '../server-context.js';
import type { PavedHonoEnv } from './hono-env.js';
import { readJsonBody } from './read-body.js';
import { zodProblems } from './zod-problems.js';

/** Methods that change nothing: their requests are audited only when refused. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the pipeline learns about a request as it goes, for its audit entry. */
interface RequestTrace {
  principal?: AuthenticatedPrincipal;
  app?: string;
  env?: string;
  payloadSha256?: string;
  /** The request was about an app the caller may not see, and was answered as if it did not exist. */
  hidden?: boolean;
  /** The permission a refusal was for (the route's, or the extra one it also needed). */
  permission?: Permission;
  /** Whether the JSON body was read (or reading it was tried). */
  bodyRead?: boolean;
}

/**
 * Turns a route declaration into a Hono handler that does, in order: authenticate (401), refuse
 * callers who hold the permission nowhere (403), validate params, query and body completely (400,
 * 413), check the permission in the request's scope (403, or 404 when the caller may not even see
 * the app), and only then run the handler. A handler therefore never sees an unauthorised or
 * invalid request. Every request that changes something, and every refused one, is recorded in the
 * audit log with its outcome.
 */
export function routeHandler(
  route: AnyRoute,
  server: ServerContext,
  bodyLimit: number,
): Handler<PavedHonoEnv> {
  return async (c) => {
    c.set('routePattern', route.path);
    const trace: RequestTrace = rawScope(c);
    const audit: AuditAnnotations = { details: {} };
    try {
      const response = await answer(route, server, bodyLimit, c, trace, audit);
      if (!READ_METHODS.has(c.req.method)) await record(server, route, c, trace, audit, response.status);
      return response;
    } catch (error) {
      const status = error instanceof PavedError ? error.httpStatus : 500;
      if (error instanceof AuthenticationFailure && error.attempted !== undefined) {
        audit.actor = {
          id: error.attempted.principal.id,
          name: error.attempted.principal.name,
          kind: error.attempted.principal.kind,
          tokenId: error.attempted.tokenId,
        };
      }
      const outcome = outcomeOf(status, trace);
      if (outcome === 'denied' || !READ_METHODS.has(c.req.method)) {
        await hashUnreadBody(route, c, route.bodyLimitBytes ?? bodyLimit, trace);
        audit.details.error = error instanceof PavedError ? error.code : 'INTERNAL';
        if (error instanceof PavedError && status < 500) audit.details.reason = error.message;
        await record(server, route, c, trace, audit, status);
      }
      throw error;
    }
  };
}

async function answer(
  route: AnyRoute,
  server: ServerContext,
  bodyLimit: number,
  c: Context<PavedHonoEnv>,
  trace: RequestTrace,
  audit: AuditAnnotations,
): Promise<Response> {
  let principal: AuthenticatedPrincipal | undefined;
  if (route.permission !== 'public') {
    principal = await authenticate(
      {
        method: c.req.method,
        authorization: c.req.header('authorization'),
        cookie: c.req.header('cookie'),
        csrfToken: c.req.header(CSRF_HEADER),
      },
      server.store,
      server.clock,
    );
    trace.principal = principal;
    if (!mayHoldPermission(principal.subject, route.permission)) {
      throw forbidden(authorize(principal.subject, route.permission).reason, route.permission);
    }
  }

  const request = route.body === undefined ? hashingRequest(c.req.raw, trace) : c.req.raw;
  const input = await validatedInput(route, c, route.bodyLimitBytes ?? bodyLimit, trace);

  if (principal !== undefined && route.permission !== 'public') {
    const scope = await (route.scope ?? defaultScope)(input, server.store);
    if (scope.app !== undefined) trace.app = scope.app;
    await check(
      principal,
      route.permission,
      await withEnvTypeRules(scope, route.permission, server),
      server,
      trace,
    );
    const extra = route.alsoRequires?.(input);
    if (extra !== undefined) {
      await check(principal, extra, await withEnvTypeRules(scope, extra, server), server, trace);
    }
  }

  const result = await route.handler({
    ...input,
    principal,
    requestId: c.get('requestId'),
    server,
    request,
    audit,
    remoteAddress: remoteAddressOf(c),
  });
  if (result instanceof Response) return result;
  const status = route.status ?? 200;
  if (status === 204) return c.body(null, 204);
  return c.json(result, status as ContentfulStatusCode);
}

/**
 * Refuses `permission` unless the policy allows it in `scope`. The team that owns the app is
 * fetched only when the caller's grants alone do not allow it (team ownership can then, and
 * deciding whether the caller may see the app needs it). A caller who may not see the app at all
 * gets the same 404 as for an app that does not exist, so that app names cannot be probed.
 */
async function check(
  principal: AuthenticatedPrincipal,
  permission: Permission,
  given: AuthorizationScope,
  server: ServerContext,
  trace: RequestTrace,
): Promise<void> {
  if (authorize(principal.subject, permission, given).allowed) return;
  // Team ownership matters only to a caller in some team.
  const inTeams = (principal.subject.teams?.length ?? 0) > 0;
  const scope = inTeams ? await withAppTeam(server.store, given) : given;
  const decision = scope === given ? undefined : authorize(principal.subject, permission, scope);
  if (decision?.allowed === true) return;
  trace.permission = permission;
  if (scope.app !== undefined && !maySeeApp(principal.subject, scope)) {
    trace.hidden = true;
    throw appNotFound(scope.app);
  }
  throw forbidden((decision ?? authorize(principal.subject, permission, scope)).reason, permission);
}

/** Adds whether the environment type requires the deployer role, for permissions checked per type. */
async function withEnvTypeRules(
  scope: AuthorizationScope,
  permission: Permission,
  server: ServerContext,
): Promise<AuthorizationScope> {
  if (PERMISSIONS[permission].scope !== 'env-type' || scope.envType === undefined) return scope;
  if (scope.requiresDeployer !== undefined) return scope;
  const envType = await server.store.envTypes.get(scope.envType);
  return envType === undefined ? scope : { ...scope, requiresDeployer: envType.requiresDeployer };
}

async function validatedInput(
  route: AnyRoute,
  c: Context<PavedHonoEnv>,
  bodyLimit: number,
  trace: RequestTrace,
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
  // The body is read only for routes that take one; the size and depth limits apply while reading.
  let body: unknown;
  if (route.body !== undefined) {
    trace.bodyRead = true;
    const raw = await readJsonBody(c.req.raw, bodyLimit);
    if (raw !== undefined) trace.payloadSha256 = jsonPayloadDigest(raw);
    body = parse(route.body, raw);
  }
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

/**
 * A request refused before its JSON body was read (no or a wrong credential, no permission) is
 * still recorded with the hash of what it sent, read now within the route's limits; a body that
 * cannot be read or is not JSON leaves the hash out.
 */
async function hashUnreadBody(
  route: AnyRoute,
  c: Context<PavedHonoEnv>,
  bodyLimit: number,
  trace: RequestTrace,
): Promise<void> {
  if (route.body === undefined || trace.bodyRead === true || READ_METHODS.has(c.req.method)) return;
  trace.bodyRead = true;
  try {
    const raw = await readJsonBody(c.req.raw, bodyLimit);
    if (raw !== undefined) trace.payloadSha256 = jsonPayloadDigest(raw);
  } catch {
    // Too large, too deep or not JSON: the refusal is recorded without a hash.
  }
}

/**
 * The request with its body (uploads, which routes read themselves) passed through a SHA-256, so
 * the audit entry can carry the hash of what was sent once the route has read it all.
 */
function hashingRequest(raw: Request, trace: RequestTrace): Request {
  if (raw.body === null || READ_METHODS.has(raw.method)) return raw;
  const hash = createHash('sha256');
  const hashed = raw.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hash.update(chunk);
        controller.enqueue(chunk);
      },
      flush() {
        trace.payloadSha256 = hash.digest('hex');
      },
    }),
  );
  return new Request(raw.url, {
    method: raw.method,
    headers: raw.headers,
    body: hashed,
    signal: raw.signal,
    // Node's fetch needs this for a streamed body.
    duplex: 'half',
  });
}

/** The app and environment the path names, before validation: for the audit of early refusals. */
function rawScope(c: Context<PavedHonoEnv>): RequestTrace {
  const params = c.req.param() as Record<string, string | undefined>;
  return {
    ...(params.app === undefined ? {} : { app: params.app }),
    ...(params.env === undefined ? {} : { env: params.env }),
  };
}

function outcomeOf(status: number, trace: RequestTrace): AuditOutcome {
  if (status < 400) return 'succeeded';
  if (status === 401 || status === 403 || status === 429 || trace.hidden === true) return 'denied';
  return 'failed';
}

async function record(
  server: ServerContext,
  route: AnyRoute,
  c: Context<PavedHonoEnv>,
  trace: RequestTrace,
  audit: AuditAnnotations,
  status: number,
): Promise<void> {
  const principal = trace.principal;
  const actor =
    principal === undefined
      ? audit.actor
      : { id: principal.id, name: principal.name, kind: principal.kind, tokenId: principal.tokenId };
  const query = new URL(c.req.url).search;
  const remoteAddress = remoteAddressOf(c);
  const permission = trace.permission ?? (route.permission === 'public' ? undefined : route.permission);
  const entry: AuditEntryInput = {
    actorKind: actor?.kind ?? 'anonymous',
    ...(actor?.id === undefined ? {} : { actorId: actor.id }),
    ...(actor === undefined ? {} : { actorName: actor.name }),
    ...(actor?.tokenId === undefined ? {} : { tokenId: actor.tokenId }),
    action: `${route.method} ${route.path}`,
    ...(permission === undefined ? {} : { permission }),
    object: `${c.req.path}${query}`,
    ...(trace.app === undefined ? {} : { app: trace.app }),
    ...(trace.env === undefined ? {} : { env: trace.env }),
    outcome: outcomeOf(status, trace),
    status,
    ...(remoteAddress === undefined ? {} : { remoteAddress }),
    ...(trace.payloadSha256 === undefined ? {} : { payloadSha256: trace.payloadSha256 }),
    requestId: c.get('requestId'),
    ...(Object.keys(audit.details).length === 0 ? {} : { details: audit.details }),
  };
  await server.audit.recordOrLog(entry);
}

/** The peer address of the connection; not `X-Forwarded-For`, which any client can write. */
function remoteAddressOf(c: Context<PavedHonoEnv>): string | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? undefined;
}

function forbidden(reason: string, permission: Permission): PavedError {
  return new PavedError(
    'FORBIDDEN',
    `not allowed: ${reason}; ask an administrator for a role that grants it`,
    {
      details: { permission },
    },
  );
}
