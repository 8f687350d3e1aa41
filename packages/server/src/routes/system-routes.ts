import { z } from 'zod';
import { openApiDocument } from '../openapi/openapi-document.js';
import { defineRoute, type AnyRoute } from './route.js';
import { caller } from './scopes.js';

export interface SystemRouteOptions {
  /** Serve `/metrics` without a token (`--metrics-public`). */
  metricsPublic: boolean;
}

/** Health, the OpenAPI document, metrics and whoami. */
export function systemRoutes(options: SystemRouteOptions): AnyRoute[] {
  let document: Record<string, unknown> | undefined;
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/health',
      permission: 'public',
      summary: 'Tell whether the server is up',
      response: z.object({ status: z.literal('ok'), version: z.string() }),
      handler: async ({ server }) => ({ status: 'ok' as const, version: server.version }),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/openapi.json',
      permission: 'public',
      summary: 'The OpenAPI 3.1 document of this API',
      response: z.record(z.string(), z.unknown()),
      // Routes are fixed once the server is built, so the document is made once, on first use.
      handler: async ({ server }) =>
        (document ??= openApiDocument(server.registry, { version: server.version })),
    }),
    defineRoute({
      method: 'GET',
      path: '/metrics',
      permission: options.metricsPublic ? 'public' : 'metrics.read',
      summary: 'Prometheus metrics',
      response: z.string(),
      produces: 'text/plain; version=0.0.4',
      handler: async ({ server }) =>
        new Response(await server.metrics.text(), {
          headers: { 'Content-Type': server.metrics.contentType },
        }),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/whoami',
      permission: 'self.read',
      summary: 'Who the caller is and which roles they hold',
      response: z.object({
        id: z.string(),
        name: z.string(),
        kind: z.enum(['user', 'service-account']),
        roles: z.array(
          z.object({
            role: z.string(),
            scope: z.discriminatedUnion('kind', [
              z.object({ kind: z.literal('org') }),
              z.object({ kind: z.literal('app'), app: z.string() }),
              z.object({ kind: z.literal('env-type'), envType: z.string() }),
            ]),
          }),
        ),
      }),
      handler: async ({ principal }) => {
        const me = caller(principal);
        return {
          id: me.id,
          name: me.name,
          kind: me.kind,
          roles: me.grants.map((grant) => ({ role: grant.role, scope: grant.scope })),
        };
      },
    }),
  ];
}
