/**
 * Where the process target gets a workload's secret values (variables and arguments) when it must
 * start its supervisor again (it died; found at the server's start): the process target keeps them
 * in memory only, and the one lasting copy is the deployment's sealed runtime spec (ADR 0015).
 */
import { PavedError } from '@paved/core';
import {
  secretArgvPositions,
  type ProcessContainerSecrets,
  type ProcessSecretsRef,
  type ProcessSecretValues,
} from '@paved/runtimes';
import type { Store } from '@paved/store';
import { decodeRendered } from '../deployments/rendered-specs.js';
import type { SecretBox } from '../secrets/secret-box.js';

/**
 * The process runtime's `secretsOf`: opens the sealed runtime spec of the deployment that started
 * the instance and answers the secret variables and arguments of the workload whose spec hash
 * matches.
 * `box` is asked at each call: the server opens its master key after it builds the runtime.
 */
export function processSecretsFromDeployments(
  store: Store,
  box: () => SecretBox | undefined,
): (ref: ProcessSecretsRef) => Promise<ProcessSecretValues | undefined> {
  return async (ref) => {
    const secrets = box();
    if (secrets === undefined) {
      throw new PavedError(
        'UNAVAILABLE',
        'the server has not opened its master key yet; start the process target after the server context',
      );
    }
    const deployment = await store.deployments.get(ref.app, ref.env, ref.deployment);
    if (deployment?.sealedRuntimeSpec === undefined) return undefined;
    const workload = decodeRendered(secrets.open(deployment.sealedRuntimeSpec)).find(
      (candidate) => candidate.name === ref.workload && candidate.specHash === ref.specHash,
    );
    if (workload === undefined) return undefined;
    return Object.fromEntries(
      Object.entries(workload.containers).map(([name, container]): [string, ProcessContainerSecrets] => {
        const argv = [...(container.command ?? []), ...(container.args ?? [])];
        return [
          name,
          {
            variables: Object.fromEntries(
              container.secretVariables
                .filter((key) => Object.hasOwn(container.variables, key))
                .map((key) => [key, container.variables[key] ?? '']),
            ),
            arguments: Object.fromEntries(
              secretArgvPositions(container).map((position) => [String(position), argv[position] ?? '']),
            ),
          },
        ];
      }),
    );
  };
}
