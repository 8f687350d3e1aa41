import type { ResourceDriver } from '@paved/core';
import { noInputs } from '../support/no-inputs.js';
import { parseDriverInputs } from '../support/parse-driver-inputs.js';
import { toDnsLabel } from '../support/to-dns-label.js';

export const VOLUME_DRIVER_ID = 'volume';

/**
 * `volume`: names a volume the target creates on first use (a named volume, a directory), as
 * `paved-<app>-<env>-<id>`. Output `source`, which `${resources.<name>}` stands for in a volume
 * source. Stateful: a deploy never deletes it, and deprovisioning here forgets only the name —
 * the target removes the data when the environment is deleted with `--delete-data`.
 */
export function createVolumeDriver(): ResourceDriver {
  return {
    id: VOLUME_DRIVER_ID,
    // No I/O: a plan runs it to show the real outputs.
    pure: true,
    inputs: noInputs,
    stateful: true,
    outputNames: () => ({ values: ['source'], secrets: [] }),
    async provision(request, signal) {
      signal.throwIfAborted();
      parseDriverInputs(VOLUME_DRIVER_ID, noInputs, request.inputs);
      const { context, resource } = request;
      const previous = (request.previousState as { source?: unknown } | undefined)?.source;
      // Keep the name the data lives under, even if the naming rule changes later.
      const source =
        typeof previous === 'string'
          ? previous
          : toDnsLabel(`paved-${context.app}-${context.env}-${resource.id}`);
      return { outputs: { source }, secrets: {}, state: { source } };
    },
    async deprovision(_request, signal) {
      signal.throwIfAborted();
    },
  };
}
