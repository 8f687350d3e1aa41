/**
 * Runtime extras: what a resource may ask the target to add to the workloads that use it — files
 * in their containers, extra containers beside them. A driver returns them as the reserved output
 * `$extras`; a target that supports them reads them with `runtimeExtrasOf`. See
 * docs/drivers/write-your-own.md for the contract and which targets consume it.
 */
import { PavedError } from '@paved/core';
import { z } from 'zod';
import { recordWithKeys } from '../support/record-with-keys.js';

/** The reserved output name extras travel under. No other output may start with `$`. */
export const RUNTIME_EXTRAS_OUTPUT = '$extras';

const absolutePath = (path: string): string | undefined =>
  !path.startsWith('/')
    ? 'must be an absolute path such as /etc/app/config.json'
    : path.split('/').includes('..')
      ? 'must not contain ".." segments'
      : undefined;
const containerName = (name: string): string | undefined =>
  /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)
    ? undefined
    : 'must be a DNS label such as proxy or log-shipper';

function extrasShape(mode: z.ZodString, image: z.ZodString) {
  return z.strictObject({
    /** Absolute path in the container → the file. */
    files: recordWithKeys(
      absolutePath,
      z.strictObject({ content: z.string(), mode: mode.optional() }),
    ).optional(),
    /** Container name → an extra container run beside the workload's own. */
    containers: recordWithKeys(
      containerName,
      z.strictObject({
        image,
        command: z.array(z.string()).optional(),
        args: z.array(z.string()).optional(),
        variables: z.record(z.string(), z.string()).optional(),
      }),
    ).optional(),
  });
}

/** Extras as a definition writes them: every string may hold placeholders. */
export const runtimeExtrasTemplateSchema = extrasShape(z.string(), z.string());

/** Extras as a driver returns them, placeholders expanded. */
export const runtimeExtrasSchema = extrasShape(
  z.string().regex(/^0?[0-7]{3}$/, 'must be an octal file mode such as 0644'),
  z.string().min(1, 'must name an image'),
);

export type RuntimeExtras = z.infer<typeof runtimeExtrasSchema>;

/**
 * The extras in a resource's outputs, checked, or undefined when it has none. For targets.
 *
 * @example
 * const extras = runtimeExtrasOf(resource.uid, resource.outputs);
 * for (const [path, file] of Object.entries(extras?.files ?? {})) writeFileInto(container, path, file.content);
 */
export function runtimeExtrasOf(uid: string, outputs: Record<string, unknown>): RuntimeExtras | undefined {
  if (!Object.hasOwn(outputs, RUNTIME_EXTRAS_OUTPUT)) return undefined;
  const parsed = runtimeExtrasSchema.safeParse(outputs[RUNTIME_EXTRAS_OUTPUT]);
  if (parsed.success) return parsed.data;
  throw new PavedError(
    'INVALID_INPUT',
    `resource "${uid}" returned runtime extras (output "${RUNTIME_EXTRAS_OUTPUT}") that break the contract: ` +
      `${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}: fix the definition that made it`,
    { details: { uid, issues: parsed.error.issues } },
  );
}
