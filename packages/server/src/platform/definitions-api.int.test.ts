import { describeEachDatabase } from '@paved/store/testing/test-databases';
import { beforeEach, expect, it } from 'vitest';
import { SecretBox } from '../secrets/secret-box.js';
import { createTestServer, type TestServer } from '../testing/test-server.js';
import { platformDefinitions } from './platform-definitions.js';
import { platformJsonSchema } from './platform-schema.js';

function postgres(name: string, spec: Record<string, unknown> = {}, line = 1): Record<string, unknown> {
  return {
    file: 'platform/postgres.yaml',
    line,
    // The CLI sends where each secret came from; overridden inputs have no secrets.
    ...(spec.inputs === undefined ? { secretRefs: { password: { env: 'PG_PASSWORD' } } } : {}),
    apiVersion: 'paved.dev/v1',
    kind: 'ResourceDefinition',
    metadata: { name },
    spec: {
      type: 'postgres',
      driver: 'echo',
      inputs: { values: { host: '127.0.0.1', port: 5432 }, secrets: { password: 's3cret-value' } },
      criteria: [{ env_type: 'development' }],
      ...spec,
    },
  };
}

describeEachDatabase('resource definitions API', (getStore, _engine, getClock) => {
  let server: TestServer;
  let token: string;
  const call = (method: string, path: string, body?: unknown) =>
    server.request(method, path, { token, body });

  beforeEach(async () => {
    server = createTestServer(getStore(), getClock());
    ({ token } = await server.principal('alice', { administrator: true }));
  });

  it('creates, then changes nothing on the same documents, then updates a changed one', async () => {
    const first = await call('POST', '/api/v1/apply', {
      documents: [
        postgres('dev-postgres'),
        postgres('prod-postgres', { criteria: [{ env_type: 'production' }] }),
      ],
    });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      created: 2,
      updated: 0,
      unchanged: 0,
      items: [
        { kind: 'ResourceDefinition', name: 'dev-postgres', action: 'created' },
        { kind: 'ResourceDefinition', name: 'prod-postgres', action: 'created' },
      ],
    });
    const again = await call('POST', '/api/v1/apply', {
      documents: [
        postgres('dev-postgres'),
        postgres('prod-postgres', { criteria: [{ env_type: 'production' }] }),
      ],
    });
    expect(again.body).toMatchObject({ created: 0, updated: 0, unchanged: 2 });
    // Defaults spelt out (as `paved export` leaves them out) are the same content.
    const spelt = await call('POST', '/api/v1/apply', {
      documents: [postgres('prod-postgres', { criteria: [{ env_type: 'production' }], stateful: false })],
    });
    expect(spelt.body).toMatchObject({ unchanged: 1 });

    // A changed secret is a change, though the response never shows it.
    const changed = await call('POST', '/api/v1/apply', {
      documents: [
        postgres('dev-postgres', {
          inputs: { values: { host: '127.0.0.1', port: 5432 }, secrets: { password: 'other' } },
        }),
      ],
    });
    expect(changed.body).toMatchObject({ created: 0, updated: 1, unchanged: 0 });

    const got = await call('GET', '/api/v1/resource-definitions/dev-postgres');
    expect(got.body).toEqual({
      name: 'dev-postgres',
      version: 2,
      type: 'postgres',
      driver: 'echo',
      inputs: {
        values: { host: '127.0.0.1', port: 5432 },
        secretKeys: ['password'],
        secretRefs: {},
      },
      criteria: [{ env_type: 'development' }],
      stateful: false,
      createdAt: '2026-01-01T00:00:00.000Z',
      createdBy: 'alice',
    });
    const list = await call('GET', '/api/v1/resource-definitions');
    expect(
      list.body.items.map((item: { name: string; version: number }) => [item.name, item.version]),
    ).toEqual([
      ['dev-postgres', 2],
      ['prod-postgres', 1],
    ]);
    expect(list.body.items[1].inputs.secretRefs).toEqual({ password: { env: 'PG_PASSWORD' } });
    expect((await call('GET', '/api/v1/resource-definitions/nope')).status).toBe(404);
    expect(server.responses.join('\n')).not.toMatch(/s3cret-value|"other"/);
    expect(server.log.text).not.toMatch(/s3cret-value/);

    // Secrets are stored sealed, and opened for the deployment engine.
    const stored = await server.store.definitions.get('dev-postgres');
    expect(SecretBox.isSealed(stored?.inputs.secrets.password ?? '')).toBe(true);
  });

  it('reports every problem at once with file and line, and stores nothing', async () => {
    await call('POST', '/api/v1/apply', {
      documents: [postgres('existing', { criteria: [{ env: 'staging' }] })],
    });
    const response = await call('POST', '/api/v1/apply', {
      documents: [
        postgres('good'),
        postgres('bad-driver', { driver: 'nope', criteria: [{ env_type: 'preview' }] }, 10),
        postgres('bad-field', { colour: 'red', criteria: [{ env_type: 'x', region: 'eu' }] }, 20),
        postgres('ties-existing', { criteria: [{ env: 'staging' }] }, 30),
        postgres('ties-good', {}, 40),
        postgres(
          'bad-inputs',
          { driver: 'dns', inputs: { values: { baseDomain: 7 } }, criteria: [{ app: 'x' }] },
          50,
        ),
        {
          file: 'platform/other.yaml',
          line: 3,
          apiVersion: 'paved.dev/v2',
          kind: 'Thing',
          metadata: { name: 'Bad Name' },
          spec: {},
        },
      ],
    });
    expect(response.status).toBe(400);
    const problems = response.body.error.details.problems as {
      file: string;
      line: number;
      path: string;
      message: string;
    }[];
    const located = problems.map((problem) => `${problem.file}:${problem.line} ${problem.path}`);
    expect(located).toEqual(
      expect.arrayContaining([
        'platform/postgres.yaml:10 spec.driver',
        'platform/postgres.yaml:20 spec',
        'platform/postgres.yaml:20 spec.criteria[0]',
        'platform/postgres.yaml:30 spec.criteria.0',
        'platform/postgres.yaml:40 spec.criteria.0',
        'platform/postgres.yaml:50 spec.inputs.values.baseDomain',
        'platform/other.yaml:3 apiVersion',
        'platform/other.yaml:3 kind',
        'platform/other.yaml:3 metadata.name',
      ]),
    );
    const message = (path: string) =>
      problems.find((problem) => problem.path === path && problem.line !== 40)?.message;
    expect(message('spec.driver')).toMatch(/unknown driver "nope"; the drivers are .*echo/);
    expect(problems.find((problem) => problem.line === 30)?.message).toMatch(
      /"ties-existing" ties with "existing"/,
    );
    expect(problems.find((problem) => problem.line === 40)?.message).toMatch(/"ties-good" ties with "good"/);
    expect(response.text).not.toMatch(/s3cret-value/);
    expect((await server.store.definitions.list()).map((definition) => definition.name)).toEqual([
      'existing',
    ]);
  });

  it('refuses bad criteria, naming the document, the criterion and the rule, and stores nothing', async () => {
    const response = await call('POST', '/api/v1/apply', {
      documents: [
        postgres('list-needed', { criteria: { env_type: 'development' } }, 1),
        postgres('bad-values', { criteria: [{ app: 'not an app!', env: '' }, { class: 7 }] }, 10),
        postgres('empty-res-id', { criteria: [{ res_id: '' }] }, 20),
      ],
    });
    expect(response.status).toBe(400);
    const problems = response.body.error.details.problems as {
      line: number;
      path: string;
      message: string;
    }[];
    const at = (line: number, path: string) =>
      problems.find((problem) => problem.line === line && problem.path === path)?.message;
    expect(at(1, 'spec.criteria')).toBeDefined();
    expect(at(10, 'spec.criteria[0].app')).toMatch(/^app must be 1 to 63 letters, digits/);
    expect(at(10, 'spec.criteria[0].env')).toMatch(/^env must be 1 to 63 letters, digits/);
    expect(at(10, 'spec.criteria[1].class')).toBe('class must be a string');
    expect(at(20, 'spec.criteria[0].res_id')).toBe('res_id must not be empty');
    expect(await server.store.definitions.list()).toEqual([]);
  });

  it('gives the deployment engine stored definitions with secrets opened, then the defaults', async () => {
    await call('POST', '/api/v1/apply', {
      documents: [
        postgres('dev-postgres'),
        postgres('default-dns', {
          type: 'dns',
          driver: 'dns',
          inputs: { values: { baseDomain: 'example.test' } },
          criteria: [],
        }),
      ],
    });
    const definitions = await platformDefinitions(server.store, server.context.secrets);
    const postgresDefinition = definitions.find((definition) => definition.name === 'dev-postgres');
    expect(postgresDefinition).toMatchObject({
      version: 1,
      inputs: { secrets: { password: 's3cret-value' } },
    });
    expect(definitions.filter((definition) => definition.name === 'default-dns')).toEqual([
      expect.objectContaining({ inputs: { values: { baseDomain: 'example.test' }, secrets: {} } }),
    ]);
    expect(
      definitions.some((definition) => definition.name === 'default-route' && definition.fallback === true),
    ).toBe(true);
  });
});

describeEachDatabase('environment types through apply', (getStore, _engine, getClock) => {
  let server: TestServer;
  let token: string;
  const call = (method: string, path: string, body?: unknown) =>
    server.request(method, path, { token, body });
  const envType = (name: string, spec: Record<string, unknown>, line = 1) => ({
    file: 'platform/env-types.yaml',
    line,
    apiVersion: 'paved.dev/v1',
    kind: 'EnvironmentType',
    metadata: { name },
    spec,
  });

  beforeEach(async () => {
    server = createTestServer(getStore(), getClock(), { dockerHost: 'unix:///run/paved-test/podman.sock' });
    ({ token } = await server.principal('alice', { administrator: true }));
  });

  it('creates and updates environment types with definitions, then changes nothing on the same documents', async () => {
    const documents = [
      envType('qa', { position: 2, defaultTtl: '48h', defaultTarget: 'docker', description: 'Testers' }),
      envType('preview', { position: 1, description: 'Short-lived environments, e.g. one per pull request' }),
      postgres('qa-postgres', { criteria: [{ env_type: 'qa' }] }),
    ];
    const first = await call('POST', '/api/v1/apply', { documents });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      created: 2,
      updated: 1,
      unchanged: 0,
      items: [
        { kind: 'EnvironmentType', name: 'qa', action: 'created' },
        // The seeded preview has a default TTL of 72h, which this document leaves out.
        { kind: 'EnvironmentType', name: 'preview', action: 'updated' },
        { kind: 'ResourceDefinition', name: 'qa-postgres', action: 'created' },
      ],
    });
    expect((await call('GET', '/api/v1/env-types/qa')).body).toEqual({
      name: 'qa',
      position: 2,
      description: 'Testers',
      defaultTtl: '48h',
      defaultTarget: 'docker',
      requiresDeployer: false,
    });
    const again = await call('POST', '/api/v1/apply', { documents });
    expect(again.body).toMatchObject({ created: 0, updated: 0, unchanged: 3 });
    // The default spelt out is the same content; a changed field is an update.
    const spelt = await call('POST', '/api/v1/apply', {
      documents: [
        envType('qa', {
          position: 2,
          defaultTtl: '2d',
          defaultTarget: 'docker',
          description: 'Testers',
          requiresDeployer: false,
        }),
        envType('staging', { position: 2, description: 'Pre-production checks', requiresDeployer: true }),
      ],
    });
    expect(spelt.body.items).toEqual([
      { kind: 'EnvironmentType', name: 'qa', action: 'unchanged' },
      { kind: 'EnvironmentType', name: 'staging', action: 'updated' },
    ]);
    expect((await server.store.envTypes.get('staging'))?.requiresDeployer).toBe(true);
  });

  it('serves the JSON schema of the documents to readers of definitions', async () => {
    const response = await call('GET', '/api/v1/schema/paved-v1.json');
    expect(response.status).toBe(200);
    expect(response.body).toEqual(platformJsonSchema());
    expect((await server.request('GET', '/api/v1/schema/paved-v1.json')).status).toBe(401);
  });

  it('reports every problem of environment types with the definitions, and stores nothing', async () => {
    const before = await server.store.envTypes.list();
    const response = await call('POST', '/api/v1/apply', {
      documents: [
        envType('qa', { position: 2, defaultTarget: 'k8s' }, 1),
        envType('Bad Name', { position: -1, defaultTtl: 'forever', colour: 'red' }, 10),
        envType('dup', { position: 1 }, 20),
        envType('dup', { position: 2 }, 30),
        postgres('good', { criteria: [{ env_type: 'qa' }] }, 40),
        { ...postgres('bad-kind', {}, 50), kind: 'Thing' },
      ],
    });
    expect(response.status).toBe(400);
    const problems = response.body.error.details.problems as {
      line: number;
      path: string;
      message: string;
    }[];
    const at = (line: number, path: string) =>
      problems.find((problem) => problem.line === line && problem.path === path)?.message;
    expect(at(1, 'spec.defaultTarget')).toBe(
      'target "k8s" does not exist; the targets are docker, process: apply a Target document named "k8s" (in any file of this apply) or name one of these',
    );
    expect(at(10, 'metadata.name')).toMatch(/DNS label/);
    expect(at(10, 'spec.position')).toMatch(/0 or more/);
    expect(at(10, 'spec.defaultTtl')).toMatch(/e\.g\. 72h/);
    expect(at(10, 'spec')).toMatch(/colour/);
    expect(at(30, 'metadata.name')).toMatch(/"dup" is also defined in platform\/env-types\.yaml:20/);
    expect(at(50, 'kind')).toBe(
      'kind must be ResourceDefinition, EnvironmentType, Target, User, Team or RoleBinding',
    );
    expect(await server.store.envTypes.list()).toEqual(before);
    expect(await server.store.definitions.list()).toEqual([]);
  });
});
