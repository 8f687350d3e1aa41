import { PavedError } from '@paved/core';
import { describe, expect, it } from 'vitest';
import { runCli } from '../testing/run-cli.js';
import type { FakeRequest } from '../testing/run-cli.js';
import { parseValuesSetArguments, parseValuesUnsetArguments, withoutSecretValues } from './values.js';

function thrown(run: () => unknown): PavedError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PavedError);
    return error as PavedError;
  }
  throw new Error('expected a PavedError');
}

describe('parseValuesSetArguments', () => {
  it('takes every argument as KEY=VALUE when the first has an "="', () => {
    expect(parseValuesSetArguments('shop', ['A=1', 'B=x=y', 'C='], false)).toEqual({
      scope: { app: 'shop' },
      set: [
        { key: 'A', value: '1' },
        { key: 'B', value: 'x=y' },
        { key: 'C', value: '' },
      ],
    });
  });

  it('takes the argument after APP as ENV when it has no "="', () => {
    expect(parseValuesSetArguments('shop', ['staging', 'A=1'], true)).toEqual({
      scope: { app: 'shop', env: 'staging' },
      set: [{ key: 'A', value: '1', secret: true }],
    });
  });

  it('names a bad key and exits 2', () => {
    const error = thrown(() => parseValuesSetArguments('shop', ['1A=x'], false));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('"1A" is not a valid key');
  });

  it('reports every problem at once', () => {
    const error = thrown(() =>
      parseValuesSetArguments('shop', ['dev', 'A=1', 'oops', 'B-C=2', 'A=3'], false),
    );
    expect(error.message).toBe('paved values set: 3 arguments are invalid');
    expect(error.details?.problems).toEqual([
      { path: 'KEY=VALUE #2', message: '"oops" is not KEY=VALUE' },
      {
        path: 'KEY=VALUE #3',
        message:
          '"B-C" is not a valid key: keys are environment-variable names: letters, digits and "_", not starting with a digit',
      },
      { path: 'KEY=VALUE #4', message: 'A is given more than once; give each key once' },
    ]);
  });

  it('does not echo an argument that may be a secret', () => {
    const error = thrown(() => parseValuesSetArguments('shop', ['dev', 'A=1', 'hunter2'], true));
    expect(error.message).not.toContain('hunter2');
  });

  it('explains a forgotten "=VALUE"', () => {
    expect(thrown(() => parseValuesSetArguments('shop', ['LOG_LEVEL'], false)).message).toContain(
      'to set a value write LOG_LEVEL=VALUE',
    );
    expect(thrown(() => parseValuesSetArguments('shop', ['staging'], false)).message).toContain(
      '"staging" was taken as ENV',
    );
  });
});

describe('parseValuesUnsetArguments', () => {
  it.each([
    [['DEBUG'], { app: 'shop' }, ['DEBUG']],
    [['staging'], { app: 'shop' }, ['staging']],
    [['DEBUG', 'LOG_LEVEL'], { app: 'shop' }, ['DEBUG', 'LOG_LEVEL']],
    [['staging', 'DEBUG'], { app: 'shop', env: 'staging' }, ['DEBUG']],
    [['pr-1', 'A', 'B', 'A'], { app: 'shop', env: 'pr-1' }, ['A', 'B']],
    [['lower', 'case'], { app: 'shop', env: 'lower' }, ['case']],
  ])('%j → %j %j', (names, scope, unset) => {
    expect(parseValuesUnsetArguments('shop', names)).toEqual({ scope, unset });
  });

  it('names a bad key and exits 2', () => {
    const error = thrown(() => parseValuesUnsetArguments('shop', ['staging', 'NOT-A-KEY']));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('"NOT-A-KEY" is not a valid key');
  });
});

describe('withoutSecretValues', () => {
  it('drops the value of secrets only', () => {
    expect(
      withoutSecretValues([
        { key: 'A', value: 'plain', secret: false },
        { key: 'B', value: 'leaked', secret: true },
      ]),
    ).toEqual([
      { key: 'A', value: 'plain', secret: false },
      { key: 'B', secret: true },
    ]);
  });
});

describe('paved values', () => {
  const values = [
    {
      key: 'LOG_LEVEL',
      value: 'debug',
      secret: false,
      version: 1,
      updatedAt: '2025-01-01T00:00:00Z',
      updatedBy: 'admin',
    },
    // A misbehaving server that sends a secret's value must still not get it printed.
    {
      key: 'API_KEY',
      value: 'hunter2',
      secret: true,
      version: 2,
      updatedAt: '2025-01-01T00:00:00Z',
      updatedBy: 'admin',
    },
  ];
  const answer = () => ({ body: { items: values, next: null, version: 2 } });

  it.each(['table', 'json', 'yaml'])('list -o %s never prints a secret value', async (format) => {
    const run = await runCli(['values', 'list', 'shop', 'staging', '-o', format], { answer });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('LOG_LEVEL');
    expect(run.stdout).toContain('API_KEY');
    expect(run.stdout).not.toContain('hunter2');
  });

  it('list shows secrets masked in a table', async () => {
    const run = await runCli(['values', 'list', 'shop'], { answer });
    expect(run.stdout).toMatch(/^API_KEY\s+\(secret\)\s+2/m);
    expect(run.stdout).toMatch(/^LOG_LEVEL\s+debug\s+1/m);
  });

  it('set sends one change to the scope and confirms it without the secret', async () => {
    const requests: FakeRequest[] = [];
    const run = await runCli(['values', 'set', 'shop', 'staging', 'API_KEY=hunter2', 'B=2', '--secret'], {
      requests,
      answer: () => ({ body: { version: 7, items: [] } }),
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(
      'Set API_KEY (secret), B (secret) on environment "staging" of app "shop" (version 7).\n',
    );
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      method: 'PATCH',
      path: '/api/v1/apps/shop/envs/staging/values',
      body: {
        set: [
          { key: 'API_KEY', value: 'hunter2', secret: true },
          { key: 'B', value: '2', secret: true },
        ],
      },
    });
  });

  it('set with a bad key exits 2 naming it and sends nothing', async () => {
    const requests: FakeRequest[] = [];
    const run = await runCli(['values', 'set', 'shop', '9LIVES=x'], { requests, answer: () => ({}) });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('"9LIVES" is not a valid key');
    expect(requests).toEqual([]);
  });

  it('unset sends the keys to the scope the rule picks', async () => {
    const requests: FakeRequest[] = [];
    const run = await runCli(['values', 'unset', 'shop', 'DEBUG', 'LOG_LEVEL'], {
      requests,
      answer: () => ({ body: { version: 3, items: [] } }),
    });
    expect(run.stdout).toBe('Unset DEBUG, LOG_LEVEL on app "shop" (version 3).\n');
    expect(requests[0]).toMatchObject({
      method: 'PATCH',
      path: '/api/v1/apps/shop/values',
      body: { unset: ['DEBUG', 'LOG_LEVEL'] },
    });
  });

  it('history masks secrets and shows unsets without a value', async () => {
    const history = [
      { version: 3, key: 'A', action: 'unset', secret: false, actor: 'admin', at: 't3' },
      { version: 2, key: 'API_KEY', action: 'set', secret: true, value: 'hunter2', actor: 'admin', at: 't2' },
      { version: 1, key: 'A', action: 'set', secret: false, value: 'one', actor: 'admin', at: 't1' },
    ];
    const run = await runCli(['values', 'history', 'shop'], {
      answer: () => ({ body: { items: history, next: null } }),
    });
    expect(run.stdout.split('\n')).toEqual([
      'VERSION  ACTION  KEY      VALUE     ACTOR  AT',
      '3        unset   A        -         admin  t3',
      '2        set     API_KEY  (secret)  admin  t2',
      '1        set     A        one       admin  t1',
      '',
    ]);
  });

  it('history shows why a version was written when one says, e.g. restored by a rollback', async () => {
    const note = "restored by alice's rollback of shop/dev to deployment 1";
    const history = [
      { version: 2, key: 'A', action: 'set', secret: false, value: 'one', actor: 'alice', at: 't2', note },
      { version: 1, key: 'A', action: 'set', secret: false, value: 'one', actor: 'admin', at: 't1' },
    ];
    const run = await runCli(['values', 'history', 'shop', 'dev'], {
      answer: () => ({ body: { items: history, next: null } }),
    });
    expect(run.stdout.split('\n')).toEqual([
      'VERSION  ACTION  KEY  VALUE  ACTOR  AT  NOTE',
      `2        set     A    one    alice  t2  ${note}`,
      '1        set     A    one    admin  t1  -',
      '',
    ]);
  });
});
