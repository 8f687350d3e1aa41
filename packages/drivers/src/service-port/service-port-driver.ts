import type { ResourceDriver } from '@paved/core';
import { z } from 'zod';
import { findEndpoint, findPort } from '../support/find-port.js';
import { noInputs } from '../support/no-inputs.js';
import { parseDriverInputs, parseParams } from '../support/parse-driver-inputs.js';

export const SERVICE_PORT_DRIVER_ID = 'service-port';

const params = z.object({
  workload: z.string().min(1),
  port: z.union([z.string().min(1), z.number().int().min(1).max(65535)]),
});

/**
 * `service-port`: where one port of another workload answers. Params `workload` and `port` (by
 * name or by the number its Score file declares). Outputs `hostname` and `port` — on the process
 * target 127.0.0.1 and the assigned host port.
 */
export function createServicePortDriver(): ResourceDriver {
  return {
    id: SERVICE_PORT_DRIVER_ID,
    // No I/O: a plan runs it to show the real outputs.
    pure: true,
    inputs: noInputs,
    outputNames: () => ({ values: ['hostname', 'port'], secrets: [] }),
    async provision(request, signal) {
      signal.throwIfAborted();
      parseDriverInputs(SERVICE_PORT_DRIVER_ID, noInputs, request.inputs);
      const { resource, context } = request;
      const wanted = parseParams(SERVICE_PORT_DRIVER_ID, resource, params);
      const endpoint = findEndpoint(context, wanted.workload, resource.uid);
      const port = findPort(endpoint, wanted.port, { uid: resource.uid, workload: wanted.workload });
      return {
        outputs: { hostname: endpoint.hostname, port: port.port },
        secrets: {},
        state: { workload: wanted.workload, port: port.name },
      };
    },
    async deprovision(_request, signal) {
      signal.throwIfAborted();
    },
  };
}
