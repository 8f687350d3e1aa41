import { PavedError, type ResourceDriver } from '@paved/core';
import { z } from 'zod';
import { parseDriverInputs } from '../support/parse-driver-inputs.js';

export const ECHO_DRIVER_ID = 'echo';

/**
 * Returns its inputs as outputs (values) and secrets: a definition that hands workloads fixed
 * connection details, e.g. an externally managed database, and the driver tests reach for.
 *
 * @example
 * // definition: { type: 'postgres', driver: 'echo', inputs: { values: { host: 'db.internal', port: 5432 },
 * //   secrets: { password: '…' } }, criteria: [{ env_type: 'staging' }] }
 */
export function createEchoDriver(): ResourceDriver {
  const inputs = z.record(z.string(), z.unknown());
  return {
    id: ECHO_DRIVER_ID,
    inputs,
    outputNames: (request) => ({
      values: Object.keys(request.inputs.values),
      secrets: Object.keys(request.inputs.secrets),
    }),
    async provision(request, signal) {
      signal.throwIfAborted();
      parseDriverInputs(ECHO_DRIVER_ID, inputs, request.inputs);
      const notText = Object.entries(request.inputs.secrets).filter(([, value]) => typeof value !== 'string');
      if (notText.length > 0) {
        throw new PavedError(
          'INVALID_INPUT',
          `driver "echo" got invalid inputs: secrets ${notText.map(([key]) => key).join(', ')} are not strings: write secrets as text`,
          { details: { driver: ECHO_DRIVER_ID, keys: notText.map(([key]) => key) } },
        );
      }
      return { outputs: { ...request.inputs.values }, secrets: { ...request.inputs.secrets }, state: {} };
    },
    async deprovision(_request, signal) {
      signal.throwIfAborted();
    },
  };
}
