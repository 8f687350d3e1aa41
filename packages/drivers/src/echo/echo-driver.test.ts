import { describe, expect, it } from 'vitest';
import {
  conformanceContext,
  describeResourceDriver,
  IN_PROCESS_SKIPS,
} from '../testing/describe-resource-driver.js';
import { createEchoDriver } from './echo-driver.js';

describeResourceDriver('echo', () => createEchoDriver(), {
  skip: IN_PROCESS_SKIPS,
  inputs: { values: { host: 'db.internal', port: 5432 }, secrets: { password: 'hunter2' } },
  params: {},
  malformed: { values: {}, secrets: { password: 42 as unknown as string } },
  check: (outputs, secrets) => {
    expect(outputs).toEqual({ host: 'db.internal', port: 5432 });
    expect(secrets).toEqual({ password: 'hunter2' });
  },
});

describe('echo driver', () => {
  it('returns copies, so callers cannot change the definition through its outputs', async () => {
    const values = { host: 'a' };
    const result = await createEchoDriver().provision(
      {
        resource: { uid: 'x.default#y', type: 'x', class: 'default', id: 'y', params: {}, metadata: {} },
        context: conformanceContext(),
        inputs: { values, secrets: {} },
      },
      new AbortController().signal,
    );
    result.outputs.host = 'b';
    expect(values.host).toBe('a');
  });
});
