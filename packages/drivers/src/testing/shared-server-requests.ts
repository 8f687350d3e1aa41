/**
 * The requests the shared-server drivers' integration tests (`postgres`, `mysql`, `redis`,
 * `amqp`) send: one resource of the driver's type per id, in the app the test names. Test-only.
 */
import type {
  CredentialsRequest,
  DeprovisionRequest,
  ProvisionContext,
  ProvisionRequest,
  ResourceRef,
} from '@paved/core';
import { conformanceContext } from './describe-resource-driver.js';

type BareContext = DeprovisionRequest['context'];

export interface SharedServerRequests {
  resource: (id: string) => ResourceRef;
  request: (app: string, id: string, more?: Partial<ProvisionRequest>) => ProvisionRequest;
  /** The context of a deprovisioning or a rotation: no dependencies, values or network. */
  bare: (app: string, env?: string) => BareContext;
  deprovisionRequest: (app: string, id: string, state: unknown) => DeprovisionRequest;
  credentialsRequest: (
    app: string,
    id: string,
    state: unknown,
    secrets: Record<string, string>,
  ) => CredentialsRequest;
}

/**
 * @example
 * const { request, credentialsRequest } = sharedServerRequests('redis', INPUTS, () => dumpDir);
 * await driver.provision(request(app, 'cache.redis'), signal);
 */
export function sharedServerRequests(
  type: string,
  inputs: ProvisionRequest['inputs'],
  dumpDir: () => string,
): SharedServerRequests {
  const resource = (id: string): ResourceRef => ({
    uid: `${type}.default#${id}`,
    type,
    class: 'default',
    id,
    params: {},
    metadata: {},
  });
  const bare = (app: string, env = 'dev'): BareContext => {
    const full: ProvisionContext = conformanceContext({ app });
    const { dependencies: _d, values: _v, network: _n, ...context } = full;
    return { ...context, env };
  };
  return {
    resource,
    request: (app, id, more = {}) => ({
      resource: resource(id),
      context: conformanceContext({ app }),
      inputs,
      ...more,
    }),
    bare,
    deprovisionRequest: (app, id, state) => ({
      resource: resource(id),
      context: bare(app),
      inputs,
      state,
      dumpDir: dumpDir(),
    }),
    credentialsRequest: (app, id, state, secrets) => ({
      resource: resource(id),
      context: bare(app),
      inputs,
      state,
      secrets,
    }),
  };
}
