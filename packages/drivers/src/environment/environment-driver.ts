import type { ResourceDriver } from '@paved/core';
import { noInputs } from '../support/no-inputs.js';
import { parseDriverInputs } from '../support/parse-driver-inputs.js';

export const ENVIRONMENT_DRIVER_ID = 'environment';

/**
 * `environment`: the values set with `paved values` for the app and environment, one output per
 * key; secret ones are secret outputs (`${resources.env.API_KEY}`).
 */
export function createEnvironmentDriver(): ResourceDriver {
  return {
    id: ENVIRONMENT_DRIVER_ID,
    // No I/O: a plan runs it to show the real outputs.
    pure: true,
    inputs: noInputs,
    outputNames: ({ context }) => {
      const entries = Object.entries(context.values);
      return {
        values: entries.filter(([, entry]) => !entry.secret).map(([key]) => key),
        secrets: entries.filter(([, entry]) => entry.secret).map(([key]) => key),
      };
    },
    async provision(request, signal) {
      signal.throwIfAborted();
      parseDriverInputs(ENVIRONMENT_DRIVER_ID, noInputs, request.inputs);
      const outputs: Record<string, string> = {};
      const secrets: Record<string, string> = {};
      for (const [key, entry] of Object.entries(request.context.values)) {
        if (entry.secret) secrets[key] = entry.value;
        else outputs[key] = entry.value;
      }
      // The keys only: values are outputs already, and secrets must not sit in plain state.
      return { outputs, secrets, state: { keys: Object.keys(request.context.values).sort() } };
    },
    async deprovision(_request, signal) {
      signal.throwIfAborted();
    },
  };
}
