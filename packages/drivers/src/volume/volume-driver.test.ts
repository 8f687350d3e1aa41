import { describe, expect, it } from 'vitest';
import {
  conformanceContext,
  describeResourceDriver,
  IN_PROCESS_SKIPS,
} from '../testing/describe-resource-driver.js';
import { createVolumeDriver } from './volume-driver.js';

const none = { values: {}, secrets: {} };

describeResourceDriver('volume', () => createVolumeDriver(), {
  skip: IN_PROCESS_SKIPS,
  inputs: none,
  params: {},
  resource: { uid: 'volume.default#orders.data', id: 'orders.data' },
  malformed: { values: { size: '10Gi' }, secrets: {} },
  check: (outputs) => expect(outputs).toEqual({ source: 'paved-shop-dev-orders-data' }),
});

describe('volume driver', () => {
  it('is stateful', () => {
    expect(createVolumeDriver().stateful).toBe(true);
  });

  it('keeps the name of an earlier provisioning', async () => {
    const result = await createVolumeDriver().provision(
      {
        resource: {
          uid: 'volume.default#orders.data',
          type: 'volume',
          class: 'default',
          id: 'orders.data',
          params: {},
          metadata: {},
        },
        context: conformanceContext(),
        inputs: none,
        previousState: { source: 'paved-old-name' },
      },
      new AbortController().signal,
    );
    expect(result.outputs).toEqual({ source: 'paved-old-name' });
  });
});
