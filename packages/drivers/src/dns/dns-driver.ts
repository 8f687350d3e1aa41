import type { ResourceDriver } from '@paved/core';
import { z } from 'zod';
import { parseDriverInputs } from '../support/parse-driver-inputs.js';
import { toDnsLabel } from '../support/to-dns-label.js';

export const DNS_DRIVER_ID = 'dns';

/** Browsers and curl send `*.localhost` to loopback, so it works without any DNS set-up. */
export const DEFAULT_BASE_DOMAIN = 'localhost';

const inputs = z.strictObject({
  baseDomain: z
    .string()
    .regex(
      /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
      'must be a lower-case domain such as apps.example.com',
    )
    .optional(),
});

/**
 * `dns`: a host name for a workload, `<workload>-<env>-<app>.<baseDomain>` (base domain
 * `localhost` unless the definition's `baseDomain` input says otherwise). A shared dns resource,
 * asked for by no single workload, uses its resource id in place of the workload. The first label
 * is sanitised and shortened to a valid DNS label. Output: `host`.
 */
export function createDnsDriver(): ResourceDriver {
  return {
    id: DNS_DRIVER_ID,
    // No I/O: a plan runs it to show the real outputs.
    pure: true,
    inputs,
    outputNames: () => ({ values: ['host'], secrets: [] }),
    async provision(request, signal) {
      signal.throwIfAborted();
      const { baseDomain = DEFAULT_BASE_DOMAIN } = parseDriverInputs(DNS_DRIVER_ID, inputs, request.inputs);
      const { context, resource } = request;
      const label = toDnsLabel(`${context.workload ?? resource.id}-${context.env}-${context.app}`);
      const host = `${label}.${baseDomain}`;
      return { outputs: { host }, secrets: {}, state: { host } };
    },
    async deprovision(_request, signal) {
      signal.throwIfAborted();
    },
  };
}
