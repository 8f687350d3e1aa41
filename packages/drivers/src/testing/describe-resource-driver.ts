/**
 * The conformance suite every resource driver runs: the promises of the `ResourceDriver`
 * interface, checked the same way for each — provisioning, provisioning again with the previous
 * state, idempotency, deprovisioning, cancellation, timeouts, malformed inputs and malformed
 * results. A driver that cannot meet a case says why through `skip`, never by leaving it out.
 */
import type { ProvisionContext, ProvisionRequest, ResourceDriver, ResourceRef } from '@paved/core';
import { describe, expect, it } from 'vitest';

type Inputs = ProvisionRequest['inputs'];

export type ConformanceCase =
  'reprovision' | 'idempotent' | 'malformed' | 'malformedResult' | 'timeout' | 'cancel';

/** Inputs (and params) that make the driver meet a situation, e.g. a receiver that never answers. */
export interface ConformanceScenario {
  inputs: Inputs;
  /** Params of the resource in this scenario; the suite's `params` unless given. */
  params?: Record<string, unknown>;
}

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
  /**
   * A scenario where what the driver gets back is malformed (a body that is not JSON, a script
   * printing the wrong shape, a template expanding to a broken value): provisioning must fail with
   * an error naming the driver.
   */
  malformedResult?: ConformanceScenario;
  /**
   * A scenario where the work outlasts the driver's own time limit (set short in its inputs):
   * provisioning and deprovisioning must fail saying they timed out, within `withinMs`.
   */
  timeout?: ConformanceScenario & { withinMs: number };
  /**
   * A scenario where provisioning and deprovisioning take long enough (seconds) to cancel midway:
   * aborting the signal must make them reject promptly with the abort reason.
   */
  cancel?: ConformanceScenario;
  /** Cases that cannot apply, each with the reason. */
  skip?: Partial<Record<ConformanceCase, string>>;
  /** Checks what the driver made, e.g. connects to the database with the returned credentials. */
  check?(outputs: Record<string, unknown>, secrets: Record<string, string>): void | Promise<void>;
}

/** The reasons a driver that computes its result in-process, without I/O, skips the cases that need I/O. */
export const IN_PROCESS_SKIPS = {
  malformedResult: 'computes its result in-process: no answer from outside can be malformed',
  timeout: 'does no I/O and returns at once: there is nothing to time out',
  cancel: 'does no I/O and returns at once: only the already-aborted case applies, and it runs',
} as const satisfies Partial<Record<ConformanceCase, string>>;

/** How long a cancelled driver may take to stop. */
const CANCEL_WITHIN_MS = 5_000;

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

/** What the store gives back: state survives only as JSON. */
function asStored(state: unknown): unknown {
  return JSON.parse(JSON.stringify(state ?? null)) as unknown;
}

function isCancellation(error: unknown, reason: Error): boolean {
  if (error === reason) return true;
  if (!(error instanceof Error)) return false;
  return error.cause === reason || /cancel|abort/i.test(error.message);
}

async function settled(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await promise;
    return { error: undefined, ms: Date.now() - started };
  } catch (error) {
    return { error: error ?? new Error('rejected without a reason'), ms: Date.now() - started };
  }
}

/**
 * @example
 * describeResourceDriver('dns', () => createDnsDriver(), {
 *   inputs: { values: {}, secrets: {} }, params: {},
 *   skip: IN_PROCESS_SKIPS,
 *   check: (outputs) => expect(outputs.host).toBe('orders-dev-shop.localhost'),
 * });
 */
export function describeResourceDriver(
  name: string,
  factory: () => ResourceDriver | Promise<ResourceDriver>,
  options: DriverConformanceOptions,
): void {
  const context = conformanceContext(options.context);
  const resourceWith = (params: Record<string, unknown>): ResourceRef => ({
    uid: `${name}.default#orders.${name}`,
    type: name,
    class: 'default',
    id: `orders.${name}`,
    metadata: {},
    ...options.resource,
    params,
  });
  const resource = resourceWith(options.params);
  const request = (
    inputs: Inputs = options.inputs,
    previousState?: unknown,
    params: Record<string, unknown> = options.params,
    previousSecrets?: Record<string, string>,
  ): ProvisionRequest => ({
    resource: resourceWith(params),
    context,
    inputs,
    ...(previousState === undefined ? {} : { previousState }),
    ...(previousSecrets === undefined ? {} : { previousSecrets }),
  });
  const deprovisionRequest = (
    state: unknown,
    scenario: ConformanceScenario = { inputs: options.inputs },
  ) => ({
    resource: resourceWith(scenario.params ?? options.params),
    context,
    inputs: scenario.inputs,
    state,
  });
  const live = (): AbortSignal => new AbortController().signal;
  const aborted = (): AbortSignal => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled by the conformance suite'));
    return controller.signal;
  };
  const skipped = (which: ConformanceCase): string | undefined => options.skip?.[which];
  const title = (text: string, which: ConformanceCase): string => {
    const reason = skipped(which);
    return reason === undefined ? text : `${text} (skipped: ${reason})`;
  };
  const runs = (which: ConformanceCase, scenario?: unknown): boolean =>
    skipped(which) === undefined &&
    (scenario !== undefined || which === 'reprovision' || which === 'idempotent');

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
      expect(asStored(result.state)).toEqual(result.state ?? null);
      for (const value of Object.values(result.secrets)) expect(typeof value).toBe('string');
      await options.check?.(result.outputs, result.secrets);
      await driver.deprovision(deprovisionRequest(result.state), live());
    });

    it('lists the output names it returns, when it lists them', async () => {
      const driver = await factory();
      if (driver.outputNames === undefined) return;
      const names = driver.outputNames({ resource, context, inputs: options.inputs });
      const result = await driver.provision(request(), live());
      expect(Object.keys(result.outputs).sort()).toEqual([...names.values].sort());
      expect(Object.keys(result.secrets).sort()).toEqual([...names.secrets].sort());
      await driver.deprovision(deprovisionRequest(result.state), live());
    });

    it.skipIf(!runs('reprovision'))(
      title(
        'provisions again with the previous state and secrets, as stored, to the same outputs and secrets',
        'reprovision',
      ),
      async () => {
        const driver = await factory();
        const first = await driver.provision(request(), live());
        // As a deployment hands them back: the state as stored, the secret outputs as unsealed.
        const again = await driver.provision(
          request(options.inputs, asStored(first.state), options.params, { ...first.secrets }),
          live(),
        );
        expect(again.outputs).toEqual(first.outputs);
        expect(again.secrets).toEqual(first.secrets);
        await options.check?.(again.outputs, again.secrets);
        await driver.deprovision(deprovisionRequest(again.state), live());
      },
    );

    it.skipIf(!runs('idempotent'))(
      title(
        'provisions twice without a previous state (a crash before it was recorded) and converges',
        'idempotent',
      ),
      async () => {
        const driver = await factory();
        const first = await driver.provision(request(), live());
        const second = await driver.provision(request(), live());
        await options.check?.(second.outputs, second.secrets);
        await driver.deprovision(deprovisionRequest(second.state), live());
        await expect(driver.deprovision(deprovisionRequest(first.state), live())).resolves.toBeUndefined();
      },
    );

    it('deprovisions, and deprovisioning twice succeeds', async () => {
      const driver = await factory();
      const result = await driver.provision(request(), live());
      await driver.deprovision(deprovisionRequest(result.state), live());
      await expect(driver.deprovision(deprovisionRequest(result.state), live())).resolves.toBeUndefined();
    });

    it('deprovisions what was never provisioned (state null) without failing', async () => {
      const driver = await factory();
      await expect(driver.deprovision(deprovisionRequest(null), live())).resolves.toBeUndefined();
    });

    it('rejects when the signal is already aborted', async () => {
      const driver = await factory();
      await expect(driver.provision(request(), aborted())).rejects.toThrow();
      await expect(driver.deprovision(deprovisionRequest(undefined), aborted())).rejects.toThrow();
    });

    it.skipIf(!runs('cancel', options.cancel))(
      title('stops a running provision and deprovision when cancelled, rejecting with the reason', 'cancel'),
      async () => {
        const scenario = options.cancel ?? { inputs: options.inputs };
        const driver = await factory();
        for (const operation of ['provision', 'deprovision'] as const) {
          const controller = new AbortController();
          const reason = new Error(`${operation} cancelled by the conformance suite`);
          const pending =
            operation === 'provision'
              ? driver.provision(request(scenario.inputs, undefined, scenario.params), controller.signal)
              : driver.deprovision(deprovisionRequest(null, scenario), controller.signal);
          setTimeout(() => controller.abort(reason), 300);
          const { error, ms } = await settled(pending);
          expect(error, `${operation} must reject when cancelled`).toBeDefined();
          expect(isCancellation(error, reason), `${operation} rejected with ${String(error)}`).toBe(true);
          expect(ms, `${operation} took ${ms} ms to stop`).toBeLessThan(300 + CANCEL_WITHIN_MS);
        }
      },
    );

    it.skipIf(!runs('timeout', options.timeout))(
      title('fails saying it timed out when the work outlasts its time limit', 'timeout'),
      async () => {
        const scenario = options.timeout ?? { inputs: options.inputs, withinMs: 0 };
        const driver = await factory();
        const provisioning = await settled(
          driver.provision(request(scenario.inputs, undefined, scenario.params), live()),
        );
        expect(provisioning.error).toBeInstanceOf(Error);
        expect((provisioning.error as Error).message).toMatch(/timed out/i);
        expect(provisioning.ms).toBeLessThan(scenario.withinMs);
        const deprovisioning = await settled(driver.deprovision(deprovisionRequest(null, scenario), live()));
        expect(deprovisioning.error).toBeInstanceOf(Error);
        expect((deprovisioning.error as Error).message).toMatch(/timed out/i);
        expect(deprovisioning.ms).toBeLessThan(scenario.withinMs);
      },
    );

    it.skipIf(!runs('malformed', options.malformed))(
      title('refuses malformed inputs with an error naming the driver', 'malformed'),
      async () => {
        const driver = await factory();
        const malformed = options.malformed ?? options.inputs;
        await expect(driver.provision(request(malformed), live())).rejects.toThrow(driver.id);
      },
    );

    it.skipIf(!runs('malformedResult', options.malformedResult))(
      title('refuses a malformed result with an error naming the driver', 'malformedResult'),
      async () => {
        const scenario = options.malformedResult ?? { inputs: options.inputs };
        const driver = await factory();
        await expect(
          driver.provision(request(scenario.inputs, undefined, scenario.params), live()),
        ).rejects.toThrow(driver.id);
      },
    );

    it('names a reason for every case it skips', () => {
      const given: Record<'malformed' | 'malformedResult' | 'timeout' | 'cancel', unknown> = {
        malformed: options.malformed,
        malformedResult: options.malformedResult,
        timeout: options.timeout,
        cancel: options.cancel,
      };
      for (const [which, scenario] of Object.entries(given)) {
        if (scenario === undefined) {
          expect(
            skipped(which as ConformanceCase),
            `give \`${which}\` or skip.${which} with a reason`,
          ).toBeTruthy();
        }
      }
      for (const reason of Object.values(options.skip ?? {})) expect(reason.trim()).not.toBe('');
    });
  });
}
