import { PavedError } from '@paved/core';
import type { AuditEntry, AuditFilter } from '@paved/store';
import { z } from 'zod';
import { DURATION_PATTERN, parseDurationSeconds } from '../duration.js';
import type { ServerContext } from '../server-context.js';
import { auditEntrySchema } from './access-schemas.js';
import { defineRoute, type AnyRoute } from './route.js';
import { appName, pageOf, pageQuery } from './schemas.js';

const when = z
  .string()
  .refine((value) => DURATION_PATTERN.test(value) || !Number.isNaN(Date.parse(value)), {
    message: 'a time is an ISO-8601 timestamp or a duration back from now, such as 24h',
  })
  .meta({ description: 'An ISO-8601 timestamp, or a duration back from now such as `24h`.' });

const auditQuery = pageQuery.extend({
  since: when.optional(),
  until: when.optional(),
  actor: z.string().min(1).max(100).optional().meta({ description: "The actor's name." }),
  action: z.string().min(1).max(200).optional().meta({ description: 'e.g. `POST /api/v1/apps`.' }),
  outcome: z.enum(['succeeded', 'denied', 'failed']).optional(),
  order: z.enum(['asc', 'desc']).optional().meta({ description: 'Newest first (`desc`) by default.' }),
});

/** The audit log: all of it for administrators, an app's entries for its owners (`audit.read`). */
export function auditRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/audit',
      permission: 'audit.read',
      summary: 'List audit entries (every app, and what belongs to none)',
      query: auditQuery.extend({ app: appName.optional() }),
      response: pageOf(auditEntrySchema),
      // The whole log is the organisation's, whatever `app` narrows it to.
      scope: async () => ({}),
      handler: async ({ query, server }) => listEntries(server, query),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/audit',
      permission: 'audit.read',
      summary: "List an app's audit entries",
      params: z.object({ app: appName }),
      query: auditQuery,
      response: pageOf(auditEntrySchema),
      handler: async ({ params, query, server }) => listEntries(server, { ...query, app: params.app }),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/audit/verify',
      permission: 'audit.read',
      summary: "Check the audit log's hash chain from the first entry to the head",
      description:
        'Recomputes every hash. `ok: false` names the first entry that does not fit and why: changed, deleted, or not appended by Paved.',
      response: z.object({
        ok: z.boolean(),
        entries: z.number().int(),
        head: z.object({ seq: z.number().int(), hash: z.string() }),
        broken: z.object({ seq: z.number().int(), reason: z.string() }).optional(),
      }),
      scope: async () => ({}),
      handler: async ({ server }) => server.store.audit.verify(),
    }),
  ];
}

async function listEntries(
  server: ServerContext,
  query: z.output<typeof auditQuery> & { app?: string | undefined },
): Promise<{ items: AuditEntry[]; next: string | null }> {
  const filter: AuditFilter = {
    ...(query.since === undefined ? {} : { since: resolveTime(server, query.since) }),
    ...(query.until === undefined ? {} : { until: resolveTime(server, query.until) }),
    ...(query.actor === undefined ? {} : { actor: query.actor }),
    ...(query.app === undefined ? {} : { app: query.app }),
    ...(query.action === undefined ? {} : { action: query.action }),
    ...(query.outcome === undefined ? {} : { outcome: query.outcome }),
  };
  const page = await server.store.audit.list(filter, {
    ...(query.after === undefined ? {} : { after: query.after }),
    limit: query.limit ?? 100,
    ...(query.order === undefined ? {} : { order: query.order }),
  });
  return page;
}

/** An ISO timestamp as it is, or a duration as that long before now. */
function resolveTime(server: ServerContext, value: string): string {
  const seconds = parseDurationSeconds(value);
  if (seconds !== undefined) return new Date(server.clock.now().getTime() - seconds * 1000).toISOString();
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) {
    throw PavedError.invalid(`"${value}" is not a time`, [{ path: 'query.since', message: 'not a time' }]);
  }
  return new Date(parsed).toISOString();
}
