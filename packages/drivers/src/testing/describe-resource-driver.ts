/**
 * The conformance suite every resource driver runs: the promises of the `ResourceDriver`
 * interface, checked the same way for each. A driver that cannot meet a case says why through
 * `skip`, never by leaving it out.
 */
import type { ProvisionContext, ProvisionRequest, ResourceDriver, ResourceRef } from '@paved/core';
import { describe, expect, it } from 'vitest';

type Inputs = ProvisionRequest['inputs'];

export type ConformanceCase = 'idempotent' | 'malformed';

export interface DriverConformanceOptions {
  /** Valid inputs of a definition using the driver. */
  inputs: Inputs;
  params: Record<string, unknown>;
  /** Merged over a process-target environment `shop`/`dev` where workload `orders` asks for the resource. */
  context?: Partial<ProvisionContext>;
  /** Merged over the resource `<driver>.default#orders.<driver>`. */
  resource?: Partial<Omit<ResourceRef, 'params'>>;
  /** Inputs the driver must refuse with an error naming it. */
  malformed?: Inputs;
  /** Cases that cannot apply, each with the reason. */
  skip?: Partial<Record<ConformanceCase, string>>;
  /** Checks what the driver made, e.g. connects to the database with the returned credentials. */
  check?(outputs: Record<string, unknown>, secrets: Record<string, string>): void | Promise<void>;
}

export function conformanceContext(overrides: Partial<ProvisionContext> = {}): ProvisionContext {
  return {
    app: 'shop',
    env: 'dev',
    envType: 'development',
    target: { name: 'process', kind: 'process' },
    workload: 'orders',
    network: {
      orders: { hostname: '127.0.0.1', ports: { http: 41234 }, declaredPorts: { http: 8080 } },
    },
    values: {},
    dependencies: {},
    ...overrides,
  };
}

/**
 * @example
 * describeResourceDriver('dns', () => createDnsDriver(), {
 *   inputs: { values: {}, secrets: {} }, params: {},
 *   check: (outputs) => expect(outputs.host).toBe('orders-dev-shop.localhost'),
 * });
 */
export function describeResourceDriver(
  name: string,
  factory: () => ResourceDriver | Promise<ResourceDriver>,
  options: DriverConformanceOptions,
): void {
  const context = conformanceContext(options.context);
  const resource: ResourceRef = {
    uid: `${name}.default#orders.${name}`,
    type: name,
    class: 'default',
    id: `orders.${name}`,
    metadata: {},
    ...options.resource,
    params: options.params,
  };
  const request = (inputs: Inputs = options.inputs, previousState?: unknown): ProvisionRequest => ({
    resource,
    context,
    inputs,
    ...(previousState === undefined ? {} : { previousState }),
  });
  const live = (): AbortSignal => new AbortController().signal;
  const aborted = (): AbortSignal => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled by the conformance suite'));
    return controller.signal;
  };
  const skipped = (which: ConformanceCase): string | undefined => options.skip?.[which];

  describe(`ResourceDriver conformance: ${name}`, () => {
    it('has an id and an inputs schema accepting the given inputs', async () => {
      const driver = await factory();
      expect(driver.id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
      expect(driver.inputs.safeParse({ ...options.inputs.values, ...options.inputs.secrets }).success).toBe(
        true,
      );
    });

    it('provisions: outputs and state are JSON, secrets are strings', async () => {
      const driver = await factory();
      const result = await driver.provision(request(), live());
      expect(JSON.parse(JSON.stringify(result.outputs))).toEqual(result.outputs);
      expect(JSON.parse(JSON.stringify(result.state ?? null))).toEqual(result.state ?? null);
      for (const value of Object.values(result.secrets)) expect(typeof value).toBe('string');
      await options.check?.(result.outputs, result.secrets);
      await driver.deprovision({ resource, context, inputs: options.inputs, state: result.state }, live());
    });

    it('lists the output names it returns, when it lists them', async () => {
      const driver = await factory();
      if (driver.outputNames === undefined) return;
      const names = driver.outputNames({ resource, context, inputs: options.inputs });
      const result = await driver.provision(request(), live());
      expect(Object.keys(result.outputs).sort()).toEqual([...names.values].sort());
      expect(Object.keys(result.secrets).sort()).toEqual([...names.secrets].sort());
    });

    it.skipIf(skipped('idempotent') !== undefined)(
      `provisions again with the previous state to the same outputs${skipped('idempotent') === undefined ? '' : ` (skipped: ${skipped('idempotent')})`}`,
      async () => {
        const driver = await factory();
        const first = await driver.provision(request(), live());
        const again = await driver.provision(request(options.inputs, first.state), live());
        expect(again.outputs).toEqual(first.outputs);
        expect(again.secrets).toEqual(first.secrets);
        await driver.deprovision({ resource, context, inputs: options.inputs, state: again.state }, live());
      },
    );

    it('deprovisions, and deprovisioning twice succeeds', async () => {
      const driver = await factory();
      const result = await driver.provision(request(), live());
      const deprovision = { resource, context, inputs: options.inputs, state: result.state };
      await driver.deprovision(deprovision, live());
      await expect(driver.deprovision(deprovision, live())).resolves.toBeUndefined();
    });

    it('rejects when the signal is already aborted', async () => {
      const driver = await factory();
      await expect(driver.provision(request(), aborted())).rejects.toThrow();
      await expect(
        driver.deprovision({ resource, context, inputs: options.inputs, state: undefined }, aborted()),
      ).rejects.toThrow();
    });

    it.skipIf(skipped('malformed') !== undefined || options.malformed === undefined)(
      `refuses malformed inputs with an error naming the driver${skipped('malformed') === undefined ? '' : ` (skipped: ${skipped('malformed')})`}`,
      async () => {
        const driver = await factory();
        const malformed = options.malformed ?? options.inputs;
        await expect(driver.provision(request(malformed), live())).rejects.toThrow(driver.id);
      },
    );

    it('names a reason for every skipped case', () => {
      if (options.malformed === undefined)
        expect(skipped('malformed'), 'give `malformed` or skip.malformed').toBeTruthy();
      for (const reason of Object.values(options.skip ?? {})) expect(reason.trim()).not.toBe('');
    });
  });
}
