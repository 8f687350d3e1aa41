import { describe, expect, it } from 'vitest';
import {
  conformanceContext,
  describeResourceDriver,
  IN_PROCESS_SKIPS,
} from '../testing/describe-resource-driver.js';
import { createRouteDriver } from './route-driver.js';

const none = { values: {}, secrets: {} };

describeResourceDriver('route', () => createRouteDriver(), {
  skip: IN_PROCESS_SKIPS,
  inputs: none,
  params: { host: 'orders-dev-shop.localhost', path: '/api', port: 'http' },
  malformed: { values: { unexpected: 'x' }, secrets: {} },
  check: (outputs) => expect(outputs).toEqual({}),
});

describe('route driver', () => {
  const provision = (params: Record<string, unknown>, workload: string | null = 'orders') => {
    const { workload: _ignored, ...context } = conformanceContext();
    return createRouteDriver().provision(
      {
        resource: {
          uid: 'route.default#orders.route',
          type: 'route',
          class: 'default',
          id: 'orders.route',
          params,
          metadata: {},
        },
        context: workload === null ? context : { ...context, workload },
        inputs: none,
      },
      new AbortController().signal,
    );
  };

  it('returns the route as state for the gateway, path defaulting to /', async () => {
    const result = await provision({ host: 'Orders-dev-shop.localhost', port: 8080 });
    expect(result.state).toEqual({
      host: 'orders-dev-shop.localhost',
      path: '/',
      port: 8080,
      workload: 'orders',
    });
  });

  it('refuses a path without a leading slash and a bad host', async () => {
    await expect(provision({ host: 'a.localhost', path: 'api', port: 'http' })).rejects.toThrow(
      /path: must start with "\/"/,
    );
    await expect(provision({ host: 'not a host', port: 'http' })).rejects.toThrow(
      /host: must be a host name/,
    );
  });

  it('refuses a port the workload does not declare', async () => {
    await expect(provision({ host: 'a.localhost', port: 'admin' })).rejects.toThrow(
      /port "admin" of workload "orders"/,
    );
  });

  it('needs params.workload when shared', async () => {
    await expect(provision({ host: 'a.localhost', port: 'http' }, null)).rejects.toThrow(
      /add params.workload/,
    );
    const result = await provision({ host: 'a.localhost', port: 'http', workload: 'orders' }, null);
    expect(result.state).toMatchObject({ workload: 'orders' });
  });
});
