/**
 * Write-ahead records of provisioning, so that a server killed between a driver creating
 * something and the store recording it does not leave that something orphaned.
 *
 * Before a driver provisions a resource the environment has no record of, the resource is
 * recorded with status `provisioning` (its definition and driver, no state, no secrets). The
 * deployment's `persist` replaces that record with the `ready` one once the driver returned; when
 * the driver fails, the record goes again. A `provisioning` record found when the server starts
 * therefore names a resource whose provisioning was cut off: `crash-recovery.ts` deprovisions it
 * (drivers' names are derived from app, environment and resource, so no state is needed).
 */
import type { ResourceDefinition, ResourceDriver } from '@paved/core';
import type { RunContext } from './run-deployment.js';
import { faultPoint } from './fault-injection.js';

/**
 * The deployment's drivers, each recording its intent before it provisions a new resource.
 * `definitions` is the match step's resource uid → definition.
 */
export function intentRecordingDrivers(
  context: Pick<RunContext, 'environment' | 'store' | 'drivers'>,
  definitions: ReadonlyMap<string, ResourceDefinition>,
): ReadonlyMap<string, ResourceDriver> {
  const { environment, store } = context;
  const { app, name: env } = environment;
  const wrapped = new Map<string, ResourceDriver>();
  for (const [id, driver] of context.drivers) {
    const provision: ResourceDriver['provision'] = async (request, signal) => {
      const uid = request.resource.uid;
      const definition = definitions.get(uid);
      const isNew = definition !== undefined && (await store.resources.get(app, env, uid)) === undefined;
      if (isNew) {
        await store.resources.put({
          app,
          env,
          uid,
          type: request.resource.type,
          class: request.resource.class,
          resId: request.resource.id,
          definition: definition.name,
          definitionVersion: definition.version,
          driver: id,
          status: 'provisioning',
          state: undefined,
          outputs: {},
          stateful: definition.stateful ?? driver.stateful ?? false,
        });
      }
      try {
        const result = await driver.provision(request, signal);
        // The dangerous moment: the driver made something new that the store does not record yet.
        if (isNew) faultPoint('after-provision-one');
        return result;
      } catch (error) {
        // As before intents existed, a failed provisioning leaves no record of its own.
        if (isNew) await store.resources.delete(app, env, uid).catch(() => undefined);
        throw error;
      }
    };
    // Everything else is the driver's own, called on the driver itself (it may keep private state).
    const recording = new Proxy(driver, {
      get(target, property) {
        if (property === 'provision') return provision;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    wrapped.set(id, recording);
  }
  return wrapped;
}
