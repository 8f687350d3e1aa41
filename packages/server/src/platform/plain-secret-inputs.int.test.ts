import { describeEachDatabase } from '@paved/store/testing/test-databases';
import { beforeEach, expect, it } from 'vitest';
import { createTestServer, type TestServer } from '../testing/test-server.js';

const PASSWORD = 'plain-admin-password-in-values';

function definition(driver: string, inputs: Record<string, unknown>, line: number): Record<string, unknown> {
  return {
    file: 'platform/servers.yaml',
    line,
    apiVersion: 'paved.dev/v1',
    kind: 'ResourceDefinition',
    metadata: { name: `shared-${driver}` },
    spec: { type: driver, driver, inputs, criteria: [{ env_type: 'staging' }] },
  };
}

describeEachDatabase('secret driver inputs given as plain values', (getStore, _engine, getClock) => {
  let server: TestServer;
  let token: string;

  beforeEach(async () => {
    server = createTestServer(getStore(), getClock());
    ({ token } = await server.principal('alice', { administrator: true }));
  });

  it('refuses an admin password under inputs.values at apply, naming file, line and what to do, and stores nothing', async () => {
    const documents = [
      definition(
        'postgres',
        { values: { host: '127.0.0.1', adminUser: 'postgres', adminPassword: PASSWORD } },
        1,
      ),
      definition('mysql', { values: { host: '127.0.0.1', adminUser: 'root', adminPassword: PASSWORD } }, 12),
      definition('redis', { values: { host: '127.0.0.1', adminPassword: PASSWORD } }, 23),
      definition('amqp', { values: { host: '127.0.0.1', adminUser: 'guest', adminPassword: PASSWORD } }, 34),
    ];
    const answer = await server.request('POST', '/api/v1/apply', { token, body: { documents } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('INVALID_INPUT');
    expect(answer.body.error.message).toMatch(
      /^4 problems in the configuration, nothing was applied; first: platform\/servers\.yaml:1: spec\.inputs\.values\.adminPassword: input "adminPassword" of driver postgres is a secret: move it under spec\.inputs\.secrets as \{ env: NAME \} or \{ file: PATH \}/,
    );
    const problems = (
      answer.body.error.details.problems as { file: string; line: number; path: string }[]
    ).map((problem) => `${problem.file}:${problem.line} ${problem.path}`);
    expect(problems).toEqual([
      'platform/servers.yaml:1 spec.inputs.values.adminPassword',
      'platform/servers.yaml:12 spec.inputs.values.adminPassword',
      'platform/servers.yaml:23 spec.inputs.values.adminPassword',
      'platform/servers.yaml:34 spec.inputs.values.adminPassword',
    ]);
    expect(answer.text).not.toContain(PASSWORD);
    expect(server.log.text).not.toContain(PASSWORD);
    expect(await server.store.definitions.list()).toEqual([]);
  });

  it('accepts the same password as a secret input', async () => {
    const answer = await server.request('POST', '/api/v1/apply', {
      token,
      body: {
        documents: [
          {
            ...definition(
              'postgres',
              { values: { host: '127.0.0.1', adminUser: 'postgres' }, secrets: { adminPassword: PASSWORD } },
              1,
            ),
            secretRefs: { adminPassword: { env: 'PG_ADMIN_PASSWORD' } },
          },
        ],
      },
    });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ created: 1 });
  });
});
