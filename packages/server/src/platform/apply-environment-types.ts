/**
 * `kind: EnvironmentType` documents of `paved apply`: checked with the resource definitions of the
 * same request (nothing is stored unless every document is valid), then written with
 * `store.envTypes.put` in the same transaction.
 */
import { stableStringify, type Problem } from '@paved/core';
import type { EnvType, Store } from '@paved/store';
import { z } from 'zod';
import { DURATION_PATTERN, parseDurationSeconds } from '../duration.js';
import { zodProblems } from '../http/zod-problems.js';
import { envTypeName } from '../routes/schemas.js';
import type { ApplyAction } from './apply-definitions.js';

export const ENVIRONMENT_TYPE_KIND = 'EnvironmentType';

/** One EnvironmentType document as the CLI sends it (file and line added for problems). */
export const environmentTypeDocumentSchema = z.strictObject({
  file: z.string().meta({ description: 'The file the document came from, for problems.' }),
  line: z.number().int().positive().optional().meta({ description: 'The line the document starts at.' }),
  apiVersion: z.literal('paved.dev/v1', { error: 'apiVersion must be paved.dev/v1' }),
  kind: z.literal(ENVIRONMENT_TYPE_KIND),
  metadata: z.strictObject({ name: envTypeName }),
  spec: z.strictObject({
    position: z
      .number({ error: 'spec.position is required: the order of promotion, 0 first (e.g. development)' })
      .int({ error: 'spec.position must be a whole number' })
      .min(0, { error: 'spec.position must be 0 or more' })
      .meta({ description: 'Order of promotion: lower comes first (development 0 … production 3).' }),
    description: z.string().max(200, { error: 'spec.description must be at most 200 characters' }).optional(),
    defaultTtl: z
      .string()
      .regex(DURATION_PATTERN, {
        error: 'spec.defaultTtl must be a positive whole number and one of s, m, h, d, e.g. 72h',
      })
      .optional()
      .meta({ description: 'Default time-to-live of new environments of this type, e.g. `72h`.' }),
    defaultTarget: z.string().min(1).optional().meta({
      description:
        'The target new environments of this type use when none is given: a built-in target (process, or docker when found) or an applied Target.',
    }),
    requiresDeployer: z
      .boolean()
      .optional()
      .meta({ description: 'Deploying needs the `deployer` role on this environment type (default false).' }),
  }),
});

export type EnvironmentTypeDocument = z.output<typeof environmentTypeDocumentSchema>;

/** The environment type a document describes, or its problems (unlocated: the caller adds file and line). */
export function checkEnvironmentTypeDocument(
  raw: unknown,
): { envType: EnvType; document: EnvironmentTypeDocument } | { problems: Omit<Problem, 'file' | 'line'>[] } {
  const parsed = environmentTypeDocumentSchema.safeParse(raw);
  if (!parsed.success) return { problems: zodProblems(parsed.error.issues) };
  const document = parsed.data;
  const { spec } = document;
  const ttl = spec.defaultTtl === undefined ? undefined : parseDurationSeconds(spec.defaultTtl);
  return {
    document,
    envType: {
      name: document.metadata.name,
      position: spec.position,
      ...(spec.description === undefined ? {} : { description: spec.description }),
      ...(ttl === undefined ? {} : { defaultTtlSeconds: ttl }),
      ...(spec.defaultTarget === undefined ? {} : { defaultTarget: spec.defaultTarget }),
      // Absent means false, so an export that leaves the default out re-applies to no change.
      requiresDeployer: spec.requiresDeployer === true,
    },
  };
}

/**
 * A default target must exist (built in, stored, or applied with it), or environments of the
 * type could not be created.
 */
export function defaultTargetProblem(
  envType: EnvType,
  targets: readonly string[],
): Omit<Problem, 'file' | 'line'> | undefined {
  const target = envType.defaultTarget;
  if (target === undefined || targets.includes(target)) return undefined;
  return {
    path: 'spec.defaultTarget',
    message: `target "${target}" does not exist; the targets are ${targets.join(', ')}: apply a Target document named "${target}" (in any file of this apply) or name one of these`,
  };
}

/** Writes one environment type; `unchanged` when the stored one has the same content. */
export async function putEnvironmentType(store: Store, envType: EnvType): Promise<ApplyAction> {
  const existing = await store.envTypes.get(envType.name);
  if (
    existing !== undefined &&
    stableStringify(comparable(existing)) === stableStringify(comparable(envType))
  ) {
    return 'unchanged';
  }
  await store.envTypes.put(envType);
  return existing === undefined ? 'created' : 'updated';
}

/** Optional fields the store reads back as `undefined` are dropped, so they compare as absent. */
function comparable(envType: EnvType): Record<string, unknown> {
  return Object.fromEntries(Object.entries(envType).filter(([, value]) => value !== undefined));
}
