import { PavedError, type ProvisionRequest, type ResourceRef } from '@paved/core';
import type { z, ZodType } from 'zod';

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

/**
 * Validates a definition's inputs (values and secrets together, as `driver.inputs` describes
 * them). The orchestrator validates before calling a driver; drivers validate again because they
 * may be called directly (tests, `resources delete`) and need the parsed, defaulted values.
 */
export function parseDriverInputs<T extends ZodType>(
  driverId: string,
  schema: T,
  inputs: ProvisionRequest['inputs'],
): z.output<T> {
  const parsed = schema.safeParse({ ...inputs.values, ...inputs.secrets });
  if (parsed.success) return parsed.data;
  throw new PavedError(
    'INVALID_INPUT',
    `driver "${driverId}" got invalid inputs: ${describeIssues(parsed.error)}: fix the resource definition's inputs`,
    { details: { driver: driverId, issues: parsed.error.issues } },
  );
}

/** Validates a resource's params, naming the resource in the error. */
export function parseParams<T extends ZodType>(
  driverId: string,
  resource: ResourceRef,
  schema: T,
): z.output<T> {
  const parsed = schema.safeParse(resource.params);
  if (parsed.success) return parsed.data;
  throw new PavedError(
    'INVALID_INPUT',
    `resource "${resource.uid}" has invalid params for driver "${driverId}": ${describeIssues(parsed.error)}: fix its params in the Score file`,
    { details: { uid: resource.uid, driver: driverId, issues: parsed.error.issues } },
  );
}
