import { PavedError, type ResourceDriver } from '@paved/core';
import { z } from 'zod';
import { findEndpoint, findPort } from '../support/find-port.js';
import { noInputs } from '../support/no-inputs.js';
import { parseDriverInputs, parseParams } from '../support/parse-driver-inputs.js';

export const ROUTE_DRIVER_ID = 'route';

const params = z.object({
  host: z
    .string()
    .regex(
      /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i,
      'must be a host name such as orders-dev-shop.localhost (often ${resources.dns.host})',
    ),
  path: z.string().startsWith('/', 'must start with "/"').default('/'),
  port: z.union([z.string().min(1), z.number().int().min(1).max(65535)]),
  /** Needed only by a shared route, which no single workload asks for. */
  workload: z.string().min(1).optional(),
});

/** What the gateway serves: requests for `host` under `path` go to `port` of `workload`. */
export interface RouteState {
  host: string;
  path: string;
  port: string | number;
  workload: string;
}

/**
 * `route`: sends gateway traffic for a host and path prefix to a port of the workload that asks
 * for it. No outputs; the validated route is the state, which the gateway reads.
 */
export function createRouteDriver(): ResourceDriver {
  return {
    id: ROUTE_DRIVER_ID,
    // No I/O: a plan runs it to show the real outputs.
    pure: true,
    inputs: noInputs,
    outputNames: () => ({ values: [], secrets: [] }),
    async provision(request, signal) {
      signal.throwIfAborted();
      parseDriverInputs(ROUTE_DRIVER_ID, noInputs, request.inputs);
      const { resource, context } = request;
      const route = parseParams(ROUTE_DRIVER_ID, resource, params);
      const workload = route.workload ?? context.workload;
      if (workload === undefined) {
        throw new PavedError(
          'INVALID_INPUT',
          `resource "${resource.uid}" is a shared route, so no single workload asks for it: add params.workload naming the workload to route to`,
          { details: { uid: resource.uid } },
        );
      }
      // Where the environment's network is known, a port the workload lacks fails now, not at the first request.
      if (Object.keys(context.network).length > 0) {
        findPort(findEndpoint(context, workload, resource.uid), route.port, { uid: resource.uid, workload });
      }
      const state: RouteState = {
        host: route.host.toLowerCase(),
        path: route.path,
        port: route.port,
        workload,
      };
      return { outputs: {}, secrets: {}, state };
    },
    async deprovision(_request, signal) {
      signal.throwIfAborted();
    },
  };
}
