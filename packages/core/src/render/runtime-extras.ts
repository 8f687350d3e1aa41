/**
 * Runtime extras: what a resource may ask the target to add to the workloads that use it — files
 * in their containers, extra containers beside them. A driver returns them as the reserved output
 * `$extras`; the render stage merges them into every workload that uses the resource
 * (`render-workloads.ts`). See docs/drivers/write-your-own.md for the contract.
 */
import { z } from 'zod';
import { PavedError } from '../errors.js';

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

/** A record whose keys pass `check`; zod alone reports a bad key only as "Invalid key in record". */
function keyedRecord<T extends z.ZodType>(check: (key: string) => string | undefined, value: T) {
  return z.record(z.string(), value).superRefine((record, context) => {
    for (const key of Object.keys(record)) {
      const problem = check(key);
      if (problem !== undefined) context.addIssue({ code: 'custom', path: [key], message: problem });
    }
  });
}

function extrasShape(mode: z.ZodString, image: z.ZodString) {
  return z.strictObject({
    /** Absolute path in the container → the file. */
    files: keyedRecord(
      absolutePath,
      z.strictObject({ content: z.string(), mode: mode.optional() }),
    ).optional(),
    /** Container name → an extra container run beside the workload's own. */
    containers: keyedRecord(
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

/** The extras in a resource's outputs, or what is wrong with them. */
export function parseRuntimeExtras(
  uid: string,
  outputs: Record<string, unknown>,
): { extras?: RuntimeExtras; error?: string; issues?: z.core.$ZodIssue[] } {
  if (!Object.hasOwn(outputs, RUNTIME_EXTRAS_OUTPUT)) return {};
  const parsed = runtimeExtrasSchema.safeParse(outputs[RUNTIME_EXTRAS_OUTPUT]);
  if (parsed.success) return { extras: parsed.data };
  return {
    error:
      `resource "${uid}" returned runtime extras (output "${RUNTIME_EXTRAS_OUTPUT}") that break the contract: ` +
      `${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}: fix the definition that made it`,
    issues: parsed.error.issues,
  };
}

/**
 * The extras in a resource's outputs, checked, or undefined when it has none.
 *
 * @example
 * const extras = runtimeExtrasOf(resource.uid, resource.outputs);
 * for (const [path, file] of Object.entries(extras?.files ?? {})) console.log(path, file.content);
 */
export function runtimeExtrasOf(uid: string, outputs: Record<string, unknown>): RuntimeExtras | undefined {
  const { extras, error, issues } = parseRuntimeExtras(uid, outputs);
  if (error !== undefined) throw new PavedError('INVALID_INPUT', error, { details: { uid, issues } });
  return extras;
}
