import type { ResourceDriver } from '@paved/core';
import { z } from 'zod';
import { findEndpoint } from '../support/find-port.js';
import { noInputs } from '../support/no-inputs.js';
import { parseDriverInputs, parseParams } from '../support/parse-driver-inputs.js';

export const SERVICE_DRIVER_ID = 'service';

const params = z.object({ workload: z.string().min(1).optional() });

/**
 * `service`: how to reach another workload of the environment. The workload is `params.workload`,
 * else the last dot-separated part of the resource id — the resource's name for a private
 * resource (`web.orders` → `orders`), the id itself for a shared one. Output: `name`, the host name.
 */
export function createServiceDriver(): ResourceDriver {
  return {
    id: SERVICE_DRIVER_ID,
    // No I/O: a plan runs it to show the real outputs.
    pure: true,
    inputs: noInputs,
    outputNames: () => ({ values: ['name'], secrets: [] }),
    async provision(request, signal) {
      signal.throwIfAborted();
      parseDriverInputs(SERVICE_DRIVER_ID, noInputs, request.inputs);
      const { resource, context } = request;
      const workload =
        parseParams(SERVICE_DRIVER_ID, resource, params).workload ?? resource.id.split('.').at(-1) ?? '';
      const endpoint = findEndpoint(context, workload, resource.uid);
      return { outputs: { name: endpoint.hostname }, secrets: {}, state: { workload } };
    },
    async deprovision(_request, signal) {
      signal.throwIfAborted();
    },
  };
}
