import { DNS_LABEL } from '@paved/core';
import { z } from 'zod';
import { DURATION_PATTERN } from '../duration.js';

const DNS_LABEL_RULE =
  '1 to 63 lower-case letters, digits and hyphens, starting and ending with a letter or digit';

/** A name that is a DNS label: apps, environments, environment types, teams. */
export function dnsLabel(what: string): z.ZodString {
  return z
    .string()
    .regex(DNS_LABEL, { error: `${what} must be a DNS label: ${DNS_LABEL_RULE}` })
    .meta({ description: `${what} (${DNS_LABEL_RULE})` });
}

export const appName = dnsLabel('an app name');
export const envName = dnsLabel('an environment name');
export const envTypeName = dnsLabel('an environment type name');
export const teamName = dnsLabel('a team name');

/** Keys of values are environment-variable names. */
export const valueKey = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
    error:
      'a value key must be an environment-variable name: letters, digits and _, not starting with a digit',
  })
  .max(256, { error: 'a value key has at most 256 characters' });

export const duration = z
  .string()
  .regex(DURATION_PATTERN, { error: 'a duration is a positive whole number and one of s, m, h, d, e.g. 72h' })
  .meta({ description: 'A duration: `<n>s|m|h|d`, e.g. `72h`.' });

const timestamp = z.string().meta({ description: 'ISO-8601 UTC timestamp.' });

/** `?after=<cursor>&limit=N` of every list. */
export const pageQuery = z.object({
  after: z.string().min(1).optional().meta({ description: 'The `next` cursor of the previous page.' }),
  limit: z.coerce
    .number({ error: 'limit must be a whole number from 1 to 500' })
    .int({ error: 'limit must be a whole number from 1 to 500' })
    .min(1, { error: 'limit must be a whole number from 1 to 500' })
    .max(500, { error: 'limit must be a whole number from 1 to 500' })
    .optional()
    .meta({ description: 'Items per page: 1 to 500, 100 by default.' }),
});

/** A page of `item`: `{"items": [...], "next": "<cursor>" | null}`. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next: z.string().nullable() });
}

export const appSchema = z.object({
  name: z.string(),
  team: z.string().optional(),
  createdAt: timestamp,
  createdBy: z.string(),
});

export const envTypeSchema = z.object({
  name: z.string(),
  position: z.number().int(),
  description: z.string().optional(),
  defaultTtl: z.string().optional().meta({ description: 'Default time-to-live, e.g. `72h`.' }),
  defaultTarget: z.string().optional(),
  requiresDeployer: z.boolean(),
});

export const environmentSchema = z.object({
  app: z.string(),
  name: z.string(),
  type: z.string(),
  target: z.string(),
  createdAt: timestamp,
  createdBy: z.string(),
  expiresAt: timestamp.optional(),
  clonedFrom: z.string().optional(),
});

export const valueSchema = z.object({
  key: z.string(),
  value: z.string().optional().meta({ description: 'Absent for secrets: they are write-only.' }),
  secret: z.boolean(),
  version: z.number().int(),
  updatedAt: timestamp,
  updatedBy: z.string(),
});

export const valueChangeSchema = z.object({
  version: z.number().int(),
  key: z.string(),
  action: z.enum(['set', 'unset']),
  secret: z.boolean(),
  value: z.string().optional().meta({ description: 'Absent for secrets and unsets.' }),
  actor: z.string(),
  at: timestamp,
  note: z
    .string()
    .optional()
    .meta({ description: 'Why the version was written when not by hand, e.g. restored by a rollback.' }),
});
