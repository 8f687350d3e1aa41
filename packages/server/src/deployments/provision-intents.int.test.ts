/**
 * Provisioning intents: a new resource is recorded as `provisioning` before its driver runs, so a
 * server killed between the driver and the record leaves a record crash recovery can act on.
 */
import type { ProvisionRequest, ResourceDefinition, ResourceDriver } from '@paved/core';
import type { ActiveResource, Environment, Store } from '@paved/store';
import { describeEachDatabase } from '@paved/store/testing/test-databases';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { intentRecordingDrivers } from './provision-intents.js';

const DEFINITION: ResourceDefinition = {
  name: 'db-shared',
  version: 3,
  type: 'postgres',
  driver: 'probe',
  inputs: { values: {}, secrets: {} },
  criteria: [],
};

function request(uid: string): ProvisionRequest {
  return {
    resource: { uid, type: 'postgres', class: 'default', id: 'db', params: {}, metadata: {} },
    context: {
      app: 'shop',
      env: 'dev',
      envType: 'development',
      target: { name: 'process', kind: 'process' },
      network: {},
      values: {},
      dependencies: {},
    },
    inputs: { values: {}, secrets: {} },
  } as unknown as ProvisionRequest;
}

/** A driver that reports what the store held for the resource while it ran. */
function probeDriver(
  store: Store,
  fail = false,
): { driver: ResourceDriver; seen: (ActiveResource | undefined)[] } {
  const seen: (ActiveResource | undefined)[] = [];
  const driver: ResourceDriver = {
    id: 'probe',
    inputs: z.object({}),
    stateful: true,
    provision: async (provisionRequest) => {
      seen.push(await store.resources.get('shop', 'dev', provisionRequest.resource.uid));
      if (fail) throw new Error('the server refused');
      return { outputs: { database: 'x' }, secrets: {}, state: { database: 'x' } };
    },
    deprovision: async () => undefined,
  };
  return { driver, seen };
}

async function environment(store: Store): Promise<Environment> {
  await store.apps.create({ name: 'shop', createdBy: 'alice' });
  return store.environments.create({
    app: 'shop',
    name: 'dev',
    type: 'development',
    target: 'process',
    createdBy: 'a',
  });
}

describeEachDatabase('provisioning intents', (getStore) => {
  it('records a new resource as provisioning before its driver runs', async () => {
    const store = getStore();
    const { driver, seen } = probeDriver(store);
    const drivers = intentRecordingDrivers(
      { environment: await environment(store), store, drivers: new Map([['probe', driver]]) },
      new Map([['postgres.default#db', DEFINITION]]),
    );
    const result = await drivers
      .get('probe')!
      .provision(request('postgres.default#db'), new AbortController().signal);
    expect(result.outputs).toEqual({ database: 'x' });
    expect(seen[0]).toMatchObject({
      uid: 'postgres.default#db',
      status: 'provisioning',
      definition: 'db-shared',
      definitionVersion: 3,
      driver: 'probe',
      stateful: true,
      state: null,
      outputs: {},
    });
    expect(seen[0]?.sealedSecrets).toBeUndefined();
    // The deployment's persist step replaces it with the ready record; until then it stays.
    expect((await store.resources.get('shop', 'dev', 'postgres.default#db'))?.status).toBe('provisioning');
  });

  it('leaves no record when the driver fails, and never touches an existing one', async () => {
    const store = getStore();
    const env = await environment(store);
    const failing = probeDriver(store, true);
    const drivers = intentRecordingDrivers(
      { environment: env, store, drivers: new Map([['probe', failing.driver]]) },
      new Map([['postgres.default#db', DEFINITION]]),
    );
    await expect(
      drivers.get('probe')!.provision(request('postgres.default#db'), new AbortController().signal),
    ).rejects.toThrow('the server refused');
    expect(await store.resources.list('shop', 'dev')).toEqual([]);

    const existing = await store.resources.put({
      app: 'shop',
      env: 'dev',
      uid: 'postgres.default#db',
      type: 'postgres',
      class: 'default',
      resId: 'db',
      definition: 'db-shared',
      definitionVersion: 2,
      driver: 'probe',
      status: 'ready',
      state: { database: 'kept' },
      outputs: { database: 'kept' },
      stateful: true,
    });
    await expect(
      drivers.get('probe')!.provision(request('postgres.default#db'), new AbortController().signal),
    ).rejects.toThrow('the server refused');
    expect(failing.seen[1]).toEqual(existing);
    expect(await store.resources.get('shop', 'dev', 'postgres.default#db')).toEqual(existing);
  });
});
