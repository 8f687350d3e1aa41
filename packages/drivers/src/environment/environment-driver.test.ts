import { expect } from 'vitest';
import { describeResourceDriver, IN_PROCESS_SKIPS } from '../testing/describe-resource-driver.js';
import { createEnvironmentDriver } from './environment-driver.js';

describeResourceDriver('environment', () => createEnvironmentDriver(), {
  skip: IN_PROCESS_SKIPS,
  inputs: { values: {}, secrets: {} },
  params: {},
  context: {
    values: { LOG_LEVEL: { value: 'debug', secret: false }, API_KEY: { value: 's3cr3t', secret: true } },
  },
  malformed: { values: { values: 'x' }, secrets: {} },
  check: (outputs, secrets) => {
    expect(outputs).toEqual({ LOG_LEVEL: 'debug' });
    expect(secrets).toEqual({ API_KEY: 's3cr3t' });
  },
});
