import { describe, expect, it } from 'vitest';
import {
  conformanceContext,
  describeResourceDriver,
  IN_PROCESS_SKIPS,
} from '../testing/describe-resource-driver.js';
import { createServicePortDriver } from './service-port-driver.js';

const none = { values: {}, secrets: {} };

describeResourceDriver('service-port', () => createServicePortDriver(), {
  skip: IN_PROCESS_SKIPS,
  inputs: none,
  params: { workload: 'orders', port: 'http' },
  malformed: { values: { extra: 1 }, secrets: {} },
  check: (outputs) => expect(outputs).toEqual({ hostname: '127.0.0.1', port: 41234 }),
});

describe('service-port driver', () => {
  const provision = (params: Record<string, unknown>) =>
    createServicePortDriver().provision(
      {
        resource: {
          uid: 'service-port.default#web.api',
          type: 'service-port',
          class: 'default',
          id: 'web.api',
          params,
          metadata: {},
        },
        context: conformanceContext(),
        inputs: none,
      },
      new AbortController().signal,
    );

  it('finds a port by the number the Score file declares, returning the reachable one', async () => {
    expect((await provision({ workload: 'orders', port: 8080 })).outputs).toEqual({
      hostname: '127.0.0.1',
      port: 41234,
    });
    expect((await provision({ workload: 'orders', port: '8080' })).outputs.port).toBe(41234);
  });

  it('refuses an unknown port, listing the ports there are', async () => {
    await expect(provision({ workload: 'orders', port: 'grpc' })).rejects.toThrow(
      /port "grpc".*its ports are http \(8080\)/,
    );
  });

  it('refuses an unknown workload', async () => {
    await expect(provision({ workload: 'billing', port: 'http' })).rejects.toThrow(/workload "billing"/);
  });

  it('refuses missing params naming the resource', async () => {
    await expect(provision({ port: 'http' })).rejects.toThrow(
      /resource "service-port.default#web.api" has invalid params.*workload/,
    );
  });
});
