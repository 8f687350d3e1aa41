import { describe, expect, it } from 'vitest';
import {
  conformanceContext,
  describeResourceDriver,
  IN_PROCESS_SKIPS,
} from '../testing/describe-resource-driver.js';
import { createDnsDriver } from './dns-driver.js';

describeResourceDriver('dns', () => createDnsDriver(), {
  skip: IN_PROCESS_SKIPS,
  inputs: { values: {}, secrets: {} },
  params: {},
  malformed: { values: { baseDomain: 'Not A Domain!' }, secrets: {} },
  check: (outputs) => expect(outputs).toEqual({ host: 'orders-dev-shop.localhost' }),
});

describe('dns driver', () => {
  const provision = async (options: {
    workload?: string;
    id?: string;
    baseDomain?: string;
    app?: string;
  }) => {
    const { workload: _default, ...rest } = conformanceContext({ app: options.app ?? 'shop' });
    const context = options.workload === undefined ? rest : { ...rest, workload: options.workload };
    const result = await createDnsDriver().provision(
      {
        resource: {
          uid: 'dns.default#x',
          type: 'dns',
          class: 'default',
          id: options.id ?? 'x',
          params: {},
          metadata: {},
        },
        context,
        inputs: {
          values: options.baseDomain === undefined ? {} : { baseDomain: options.baseDomain },
          secrets: {},
        },
      },
      new AbortController().signal,
    );
    return result.outputs.host;
  };

  it('uses the base domain input', async () => {
    expect(await provision({ workload: 'orders', baseDomain: 'apps.example.com' })).toBe(
      'orders-dev-shop.apps.example.com',
    );
  });

  it('uses the resource id for a shared dns resource', async () => {
    expect(await provision({ id: 'public.site' })).toBe('public-site-dev-shop.localhost');
  });

  it('sanitises and shortens to one valid DNS label', async () => {
    const host = (await provision({ workload: 'Orders_API', app: 'a'.repeat(80) })) as string;
    const [label] = host.split('.');
    expect(label).toMatch(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
    expect(label?.startsWith('orders-api-dev-aaa')).toBe(true);
  });
});
