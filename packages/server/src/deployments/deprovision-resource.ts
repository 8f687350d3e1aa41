/**
 * Deprovisioning one active resource: the driver is called with the inputs of the definition that
 * made it (a webhook needs its URL, a database driver its admin connection), the record goes only
 * once the driver succeeded, and the change is audited either way. Used when a deploy no longer
 * asks for a resource and when an environment is deleted.
 */
import { PavedError } from '@paved/core';
import type { ActiveResource } from '@paved/store';
import type { RunContext } from './run-deployment.js';
import { auditInfrastructure } from './infrastructure-audit.js';

export interface DeprovisionOptions {
  /** Who asked (a deployment's or a request's actor). */
  actor?: string;
  /** The deployment that let the resource go, for the audit entry. */
  deployment?: number;
  /** Where drivers that dump data before deleting it write their dump. */
  dumpDir?: string;
  /** What the driver reported (dump files, what it removed); never secrets. */
  log?: (message: string) => void;
  signal?: AbortSignal;
}

/**
 * @throws PavedError DRIVER_FAILED naming the resource, with the record kept, when the driver fails.
 */
export async function deprovisionResource(
  context: Pick<
    RunContext,
    'environment' | 'store' | 'drivers' | 'definitions' | 'runtime' | 'logger' | 'audit'
  >,
  resource: ActiveResource,
  options: DeprovisionOptions = {},
): Promise<void> {
  const { environment, store, drivers, logger } = context;
  const audit = (outcome: 'succeeded' | 'failed') =>
    auditInfrastructure(context.audit, {
      action: 'deployment.deprovision',
      app: environment.app,
      env: environment.name,
      subject: resource.uid,
      outcome,
      ...(options.actor === undefined ? {} : { actor: options.actor }),
      details: {
        driver: resource.driver,
        ...(options.deployment === undefined ? {} : { deployment: options.deployment }),
      },
    });
  const driver = drivers.get(resource.driver);
  if (driver === undefined) {
    await audit('failed');
    throw new PavedError(
      'DRIVER_FAILED',
      `resource "${resource.uid}" of ${environment.app}/${environment.name} was made by driver "${resource.driver}", which this server does not have; it is kept`,
      { details: { uid: resource.uid, driver: resource.driver } },
    );
  }
  // Only the current version of a definition is kept: its inputs are what the driver gets.
  const definition = (await context.definitions()).find((entry) => entry.name === resource.definition);
  if (definition === undefined) {
    logger.warn(
      { uid: resource.uid, definition: resource.definition },
      'the definition that made this resource is gone; deprovisioning it without driver inputs',
    );
  }
  try {
    await driver.deprovision(
      {
        resource: {
          uid: resource.uid,
          type: resource.type,
          class: resource.class,
          id: resource.resId,
          params: {},
          metadata: {},
        },
        context: {
          app: environment.app,
          env: environment.name,
          envType: environment.type,
          target: { name: environment.target, kind: context.runtime.kind },
          ...(context.runtime.resourceContainers === undefined
            ? {}
            : { containers: context.runtime.resourceContainers }),
        },
        inputs: definition?.inputs ?? { values: {}, secrets: {} },
        state: resource.state,
        ...(options.dumpDir === undefined ? {} : { dumpDir: options.dumpDir }),
        ...(options.log === undefined ? {} : { log: options.log }),
      },
      options.signal ?? new AbortController().signal,
    );
  } catch (error) {
    await audit('failed');
    throw new PavedError(
      'DRIVER_FAILED',
      `deprovisioning resource "${resource.uid}" of ${environment.app}/${environment.name} (driver ${resource.driver}) failed, so it is kept: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error, details: { uid: resource.uid, driver: resource.driver } },
    );
  }
  await store.resources.delete(environment.app, environment.name, resource.uid);
  await audit('succeeded');
}
