import { PavedError, type ProvisionContext, type ResourceRef } from '@paved/core';
import { describe, expect, it } from 'vitest';
import { conformanceContext, describeResourceDriver } from '../testing/describe-resource-driver.js';
import { RUNTIME_EXTRAS_OUTPUT, runtimeExtrasOf } from './runtime-extras.js';
import { createTemplateDriver } from './template-driver.js';

const inputs = {
  values: {
    outputs: {
      host: 'db-${context.env}-${context.app}.internal',
      port: '${params.port}',
      name: '${resource.id}',
    },
    secretOutputs: {
      uri: 'postgres://app:${secrets.password}@db-${context.env}-${context.app}.internal:${params.port}/app',
    },
    extras: {
      files: { '/etc/app/db.json': { content: '{"host":"db-${context.env}"}', mode: '0644' } },
    },
  },
  secrets: { password: 'hunter2-hunter2' },
};

describeResourceDriver('template', () => createTemplateDriver(), {
  inputs,
  params: { port: 5432 },
  malformed: { values: { outputs: 'not a map' }, secrets: {} },
  malformedResult: {
    inputs: {
      values: { extras: { files: { '/etc/x': { content: 'x', mode: '${params.mode}' } } } },
      secrets: {},
    },
    params: { mode: 'rwx' },
  },
  skip: {
    timeout: 'expands templates in memory with no I/O: there is nothing to time out',
    cancel:
      'expands templates in memory with no I/O and returns at once: only the already-aborted case applies, and it runs',
  },
  check: (outputs, secrets) => {
    expect(outputs).toEqual({
      host: 'db-dev-shop.internal',
      port: 5432,
      name: 'orders.template',
      [RUNTIME_EXTRAS_OUTPUT]: {
        files: { '/etc/app/db.json': { content: '{"host":"db-dev"}', mode: '0644' } },
      },
    });
    expect(secrets).toEqual({ uri: 'postgres://app:hunter2-hunter2@db-dev-shop.internal:5432/app' });
  },
});

describe('template driver', () => {
  const resource = (overrides: Partial<ResourceRef> = {}): ResourceRef => ({
    uid: 'bucket.default#orders.files',
    type: 'bucket',
    class: 'default',
    id: 'orders.files',
    params: { region: 'eu-1', sizes: { small: 1 } },
    metadata: { annotations: { team: 'payments' } },
    ...overrides,
  });
  const provision = (
    values: Record<string, unknown>,
    options: {
      secrets?: Record<string, string>;
      context?: Partial<ProvisionContext>;
      resource?: ResourceRef;
    } = {},
  ) =>
    createTemplateDriver().provision(
      {
        resource: options.resource ?? resource(),
        context: conformanceContext(options.context),
        inputs: { values, secrets: options.secrets ?? {} },
      },
      new AbortController().signal,
    );
  const failure = async (promise: Promise<unknown>): Promise<PavedError> => {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PavedError);
    return error as PavedError;
  };

  it('reads params, metadata, context and the outputs of dependencies, keeping the type of a lone placeholder', async () => {
    const result = await provision(
      {
        outputs: {
          url: 'https://${params.region}.files.example/${context.app}/${context.env}/${context.workload}',
          team: '${metadata.annotations.team}',
          sizes: '${params.sizes}',
          sizesText: 'sizes=${params.sizes}',
          queue: '${resources.queue.host}:${resources.queue.port}',
          port: '${resources.queue.port}',
          envType: '${context.envType}',
          target: '${context.target.kind}',
          literal: 'costs $$5 in ${resource.type}',
          list: ['${params.region}', { nested: '${resource.class}' }],
        },
      },
      {
        context: {
          dependencies: {
            queue: { outputs: { host: 'mq.internal', port: 5672 }, secrets: { password: 'pw-pw-pw' } },
          },
        },
      },
    );
    expect(result.outputs).toEqual({
      url: 'https://eu-1.files.example/shop/dev/orders',
      team: 'payments',
      sizes: { small: 1 },
      sizesText: 'sizes={"small":1}',
      queue: 'mq.internal:5672',
      port: 5672,
      envType: 'development',
      target: 'process',
      literal: 'costs $5 in bucket',
      list: ['eu-1', { nested: 'default' }],
    });
    expect(result.secrets).toEqual({});
  });

  it('names the template, the key and what exists when a key is missing, reporting every problem', async () => {
    const error = await failure(
      provision(
        {
          outputs: { url: 'https://${params.regoin}/x', owner: '${metadata.annotations.owner}' },
          secretOutputs: { token: '${secrets.tokne}' },
        },
        { secrets: { token: 'abcdefgh' } },
      ),
    );
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toContain('driver "template"');
    expect(error.message).toContain(
      'outputs.url: ${params.regoin}: params has no key "regoin"; it has region, sizes',
    );
    expect(error.message).toContain(
      'outputs.owner: ${metadata.annotations.owner}: metadata.annotations has no key "owner"; it has team',
    );
    expect(error.message).toContain(
      'secretOutputs.token: ${secrets.tokne}: secrets has no key "tokne"; it has token',
    );
    expect(error.message).not.toContain('abcdefgh');
  });

  it('explains the keys that can be absent: the workload of a shared resource, resources not in params', async () => {
    const { workload: _none, ...shared } = conformanceContext();
    const error = await failure(
      createTemplateDriver().provision(
        {
          resource: resource(),
          context: shared,
          inputs: {
            values: { outputs: { a: '${context.workload}', b: '${resources.db.host}' } },
            secrets: {},
          },
        },
        new AbortController().signal,
      ),
    );
    expect(error.message).toContain(
      'context has no key "workload"; it has app, env, envType, target (the resource is shared',
    );
    expect(error.message).toContain('resources has no key "db"; it is empty');
    expect(error.message).toContain("the resource's params name");
  });

  it('refuses an unknown root and a path into text', async () => {
    const error = await failure(provision({ outputs: { a: '${param.region}', b: '${params.region.code}' } }));
    expect(error.message).toContain(
      '${param.region}: unknown name "param"; templates read resource, params, metadata, context, resources, secrets',
    );
    expect(error.message).toContain('params.region is the text "eu-1", which has no key "code"');
  });

  it('refuses a secret in a plain output or in extras, and keeps dependency secrets secret', async () => {
    const context = {
      dependencies: { db: { outputs: { host: 'db' }, secrets: { password: 'pw-pw-pw' } } },
    };
    const error = await failure(
      provision(
        {
          outputs: { dsn: 'x:${resources.db.password}', key: '${secrets.apiKey}' },
          extras: { containers: { proxy: { image: 'proxy:1', variables: { KEY: '${secrets.apiKey}' } } } },
        },
        { secrets: { apiKey: 'key-key-key' }, context },
      ),
    );
    expect(error.message).toContain(
      'outputs.dsn: uses the secret ${resources.db.password}: move the output to secretOutputs',
    );
    expect(error.message).toContain('outputs.key: uses the secret ${secrets.apiKey}');
    expect(error.message).toContain('extras: uses the secret ${secrets.apiKey}');
    expect(error.message).not.toContain('key-key-key');
    const result = await provision(
      {
        outputs: { host: '${resources.db.host}' },
        secretOutputs: { dsn: '${resources.db.host}:${resources.db.password}' },
      },
      { context },
    );
    expect(result).toMatchObject({ outputs: { host: 'db' }, secrets: { dsn: 'db:pw-pw-pw' } });
  });

  it('returns runtime extras under the reserved output, checked by the contract targets read', async () => {
    const result = await provision({
      extras: {
        files: { '/etc/feature.json': { content: '{"region":"${params.region}"}' } },
        containers: {
          proxy: {
            image: 'localhost/proxy:${context.env}',
            args: ['--upstream', '127.0.0.1:${params.sizes.small}'],
            variables: { REGION: '${params.region}' },
          },
        },
      },
    });
    const extras = runtimeExtrasOf('bucket.default#orders.files', result.outputs);
    expect(extras).toEqual({
      files: { '/etc/feature.json': { content: '{"region":"eu-1"}' } },
      containers: {
        proxy: {
          image: 'localhost/proxy:dev',
          args: ['--upstream', '127.0.0.1:1'],
          variables: { REGION: 'eu-1' },
        },
      },
    });
    expect(
      createTemplateDriver().outputNames?.({
        resource: resource(),
        context: conformanceContext(),
        inputs: { values: { outputs: { a: 1 }, extras: {} }, secrets: {} },
      }),
    ).toEqual({ values: ['a', RUNTIME_EXTRAS_OUTPUT], secrets: [] });
    expect(runtimeExtrasOf('x', { a: 1 })).toBeUndefined();
    expect(() =>
      runtimeExtrasOf('x', { [RUNTIME_EXTRAS_OUTPUT]: { files: { relative: { content: '' } } } }),
    ).toThrow(/resource "x" returned runtime extras .* files.relative: must be an absolute path/);
  });

  it('refuses extras that break the contract after expansion, and reserved or duplicated output names', async () => {
    const error = await failure(
      provision(
        { extras: { containers: { proxy: { image: '${params.image}' } } } },
        { resource: resource({ params: { image: '' } }) },
      ),
    );
    expect(error.message).toContain('extras.containers.proxy.image: after expansion must name an image');
    await expect(provision({ outputs: { $extras: 'x' } })).rejects.toThrow(/reserved for Paved/);
    await expect(provision({ outputs: { a: '1' }, secretOutputs: { a: '2' } })).rejects.toThrow(
      /a is in both outputs and secretOutputs/,
    );
    await expect(provision({ outputs: {}, password: 'x' })).rejects.toThrow(
      /unknown inputs password under values: .* put values the templates read as \$\{secrets.<key>\} under secrets/,
    );
  });

  it('reports an unterminated placeholder', async () => {
    await expect(provision({ outputs: { a: 'x${params.region' } })).rejects.toThrow(
      /outputs.a: unterminated placeholder/,
    );
  });
});
