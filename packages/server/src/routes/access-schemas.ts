import { z } from 'zod';
import { appName, duration } from './schemas.js';

const PRINCIPAL_NAME = /^[a-z0-9](?:[a-z0-9._@-]{0,62}[a-z0-9])?$/;
const PRINCIPAL_NAME_RULE =
  '1 to 64 lower-case letters, digits, ".", "_", "@" and "-", starting and ending with a letter or digit';

/** A user or service account name. */
export const principalName = z
  .string()
  .regex(PRINCIPAL_NAME, { error: `a user or service account name must be ${PRINCIPAL_NAME_RULE}` })
  .meta({ description: `A user or service account name (${PRINCIPAL_NAME_RULE}).` });

/** A token's own name, to tell one's tokens apart. */
export const tokenName = z
  .string()
  .min(1, { error: 'a token name must not be empty' })
  .max(100, { error: 'a token name has at most 100 characters' })
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  .regex(/^[^\u0000-\u001f\u007f]+$/, { error: 'a token name must not contain control characters' });

/** A role binding's subject as `<kind>:<name>`: `user:alice`, `service-account:ci`, `team:web`. */
export const subjectRef = z
  .string()
  .regex(/^(user|service-account|team):[a-z0-9][a-z0-9._@-]{0,63}$/, {
    error: 'a subject is user:<name>, service-account:<name> or team:<name>',
  })
  .meta({ description: 'Who holds the role: `user:<name>`, `service-account:<name>` or `team:<name>`.' });

/** The most a token may live, and what it lives without `expires`. */
export const MAX_TOKEN_TTL_SECONDS = 365 * 24 * 3600;
export const DEFAULT_TOKEN_TTL_SECONDS = 90 * 24 * 3600;

export const tokenExpiry = duration
  .optional()
  .meta({ description: 'How long the token lives, e.g. `30d` (default 90d, at most 365d).' });

const timestamp = z.string().meta({ description: 'ISO-8601 UTC timestamp.' });
const scopeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('org') }),
  z.object({ kind: z.literal('app'), app: z.string() }),
  z.object({ kind: z.literal('env-type'), envType: z.string() }),
]);

export const roleBindingSchema = z.object({
  role: z.string(),
  subject: z.string().meta({ description: '`user:<name>`, `service-account:<name>` or `team:<name>`.' }),
  scope: scopeSchema,
  createdAt: timestamp,
});

export const userSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(['user', 'service-account']),
  app: z.string().optional().meta({ description: 'The app a service account belongs to.' }),
  disabled: z.boolean(),
  hasPassword: z.boolean(),
  createdAt: timestamp,
  teams: z.array(z.string()).optional(),
  roles: z.array(roleBindingSchema).optional().meta({ description: 'Roles granted to it directly.' }),
});

export const tokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  principal: z.string().meta({ description: 'The name of the user or service account it belongs to.' }),
  createdAt: timestamp,
  expiresAt: timestamp.optional(),
  lastUsedAt: timestamp.optional().meta({ description: 'To the minute.' }),
  revokedAt: timestamp.optional(),
  app: z.string().optional().meta({ description: 'The one app the token may be used for.' }),
});

export const createdTokenSchema = tokenSchema.extend({
  token: z.string().meta({ description: 'The token itself: shown this once, stored only as a hash.' }),
});

export const teamSchema = z.object({
  name: z.string(),
  description: z.string().optional(),
  createdAt: timestamp,
  createdBy: z.string(),
  members: z.array(z.string()).optional(),
  roles: z.array(roleBindingSchema).optional(),
});

export const auditEntrySchema = z.object({
  seq: z.number().int(),
  at: timestamp,
  actorId: z.string().optional(),
  actorName: z.string().optional(),
  actorKind: z.enum(['user', 'service-account', 'anonymous', 'system']),
  tokenId: z.string().optional(),
  action: z.string(),
  permission: z.string().optional(),
  object: z.string(),
  app: z.string().optional(),
  env: z.string().optional(),
  outcome: z.enum(['succeeded', 'denied', 'failed']),
  status: z.number().int().optional(),
  remoteAddress: z.string().optional(),
  payloadSha256: z.string().optional(),
  requestId: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
  prevHash: z.string(),
  hash: z.string(),
});

export const newTokenBody = z.strictObject({
  name: tokenName,
  expires: tokenExpiry,
  app: appName.optional().meta({ description: 'Restrict the token to this one app.' }),
});

export { timestamp as timestampSchema };
