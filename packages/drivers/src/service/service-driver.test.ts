import { describe, expect, it } from 'vitest';
import {
  conformanceContext,
  describeResourceDriver,
  IN_PROCESS_SKIPS,
} from '../testing/describe-resource-driver.js';
import { createServiceDriver } from './service-driver.js';

const none = { values: {}, secrets: {} };

describeResourceDriver('service', () => createServiceDriver(), {
  skip: IN_PROCESS_SKIPS,
  inputs: none,
  params: {},
  resource: { uid: 'service.default#web.orders', id: 'web.orders' },
  malformed: { values: { bogus: true }, secrets: {} },
  check: (outputs) => expect(outputs).toEqual({ name: '127.0.0.1' }),
});

describe('service driver', () => {
  const provision = (id: string, params: Record<string, unknown> = {}) =>
    createServiceDriver().provision(
      {
        resource: {
          uid: `service.default#${id}`,
          type: 'service',
          class: 'default',
          id,
          params,
          metadata: {},
        },
        context: conformanceContext({
          target: { name: 'docker', kind: 'docker' },
          network: {
            orders: { hostname: 'orders', ports: { http: 8080 } },
            users: { hostname: 'users', ports: {} },
          },
        }),
        inputs: none,
      },
      new AbortController().signal,
    );

  it('names the workload by the last part of a shared id', async () => {
    expect((await provision('shared.users')).outputs).toEqual({ name: 'users' });
  });

  it('prefers params.workload', async () => {
    expect((await provision('web.backend', { workload: 'orders' })).outputs).toEqual({ name: 'orders' });
  });

  it('refuses a workload the environment does not have, listing those it has', async () => {
    await expect(provision('web.payments')).rejects.toThrow(
      /refers to workload "payments".*its workloads are orders, users/,
    );
  });
});
