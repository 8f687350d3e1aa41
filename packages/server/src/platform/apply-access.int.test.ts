/**
 * `POST /api/v1/apply` with every kind at once: definitions, environment types, targets, users,
 * teams and role bindings checked together, written in one transaction, and refused (and
 * audited) for callers who may not manage users.
 */
import { describeEachDatabase } from '@paved/store/testing/test-databases';
import { beforeEach, describe, expect, it } from 'vitest';
import { accessPermissions } from '../auth/access-documents.js';
import { createTestServer, type TestServer } from '../testing/test-server.js';

const at = (file: string, line: number) => ({ file, line, apiVersion: 'paved.dev/v1' });

/** One of each of the six kinds; the binding names the environment type and the team applied with it. */
function mixedDocuments(): Record<string, unknown>[] {
  return [
    {
      ...at('platform/definitions.yaml', 1),
      secretRefs: { password: { env: 'PG_PASSWORD' } },
      kind: 'ResourceDefinition',
      metadata: { name: 'qa-postgres' },
      spec: {
        type: 'postgres',
        driver: 'echo',
        inputs: { values: { host: '127.0.0.1' }, secrets: { password: 's3cret-value' } },
        criteria: [{ env_type: 'qa' }],
      },
    },
    {
      ...at('platform/environment-types.yaml', 1),
      kind: 'EnvironmentType',
      metadata: { name: 'qa' },
      spec: { position: 5, requiresDeployer: true },
    },
    {
      ...at('platform/targets.yaml', 1),
      kind: 'Target',
      metadata: { name: 'qa-docker' },
      spec: { type: 'docker', docker: { host: 'unix:///run/qa.sock' } },
    },
    { ...at('platform/access.yaml', 1), kind: 'User', metadata: { name: 'dana' }, spec: { role: 'manager' } },
    {
      ...at('platform/access.yaml', 5),
      kind: 'Team',
      metadata: { name: 'qa-team' },
      spec: { description: 'Quality', members: ['dana'] },
    },
    {
      ...at('platform/access.yaml', 10),
      kind: 'RoleBinding',
      metadata: { name: 'qa-team-deploys-qa' },
      spec: { role: 'deployer', subject: 'team:qa-team', envType: 'qa' },
    },
  ];
}

describe('accessPermissions', () => {
  it('names what the user, team and role-binding routes would need', () => {
    expect(accessPermissions([{ kind: 'ResourceDefinition' }, { kind: 'Target' }])).toEqual([]);
    expect(accessPermissions([{ kind: 'Team', spec: { description: 'x' } }])).toEqual(['teams.manage']);
    // Joining a team hands over its roles: as the team routes, that needs users.manage too.
    expect(accessPermissions([{ kind: 'Team', spec: { members: [] } }])).toEqual([
      'teams.manage',
      'users.manage',
    ]);
    expect(accessPermissions([{ kind: 'User' }])).toEqual(['users.manage']);
    expect(accessPermissions([{ kind: 'RoleBinding' }, null])).toEqual(['users.manage']);
  });
});

describeEachDatabase('apply with access documents', (getStore, _engine, getClock) => {
  let server: TestServer;
  let token: string;
  const apply = (documents: unknown[], as = token) =>
    server.request('POST', '/api/v1/apply', { token: as, body: { documents } });

  beforeEach(async () => {
    server = createTestServer(getStore(), getClock());
    ({ token } = await server.principal('root', { administrator: true }));
  });

  it('applies all six kinds in one call, and the same documents again change nothing', async () => {
    const first = await apply(mixedDocuments());
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      created: 6,
      updated: 0,
      unchanged: 0,
      items: [
        { kind: 'Target', name: 'qa-docker', action: 'created' },
        { kind: 'EnvironmentType', name: 'qa', action: 'created' },
        { kind: 'ResourceDefinition', name: 'qa-postgres', action: 'created' },
        { kind: 'User', name: 'dana', action: 'created' },
        { kind: 'Team', name: 'qa-team', action: 'created' },
        { kind: 'RoleBinding', name: 'qa-team-deploys-qa', action: 'created' },
      ],
    });
    const team = await server.request('GET', '/api/v1/teams/qa-team', { token });
    expect(team.body).toMatchObject({ name: 'qa-team', description: 'Quality', members: ['dana'] });
    const bindings = await server.request('GET', '/api/v1/role-bindings?subject=team:qa-team', { token });
    expect(bindings.body).toMatchObject({
      items: [{ role: 'deployer', subject: 'team:qa-team', scope: { kind: 'env-type', envType: 'qa' } }],
    });
    const dana = await server.request('GET', '/api/v1/users/dana', { token });
    expect(dana.body).toMatchObject({ name: 'dana', kind: 'user', hasPassword: false });

    const again = await apply(mixedDocuments());
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ created: 0, updated: 0, unchanged: 6 });
  });

  it('reports the problems of every kind at once, and a bad access document stores nothing', async () => {
    const documents = mixedDocuments();
    // A definition problem and two access problems, one of them a password in plain text.
    documents[0] = { ...documents[0], spec: { type: 'postgres', driver: 'no-such-driver' } };
    documents[3] = { ...documents[3], spec: { role: 'manager', password: 'hunter2-hunter2' } };
    documents[5] = {
      ...documents[5],
      spec: { role: 'deployer', subject: 'team:nobody', envType: 'qa' },
    };
    const refused = await apply(documents);
    expect(refused.status).toBe(400);
    const problems = (refused.body as { error: { details: { problems: unknown[] } } }).error.details.problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: 'platform/definitions.yaml', line: 1, path: 'spec.driver' }),
        expect.objectContaining({
          file: 'platform/access.yaml',
          line: 1,
          path: 'spec.password',
          message: expect.stringContaining('paved users set-password') as unknown,
        }),
      ]),
    );
    expect(JSON.stringify(refused.body)).not.toContain('hunter2');

    // Only the access documents wrong: the definitions, types and targets are not stored either.
    const onlyAccess = mixedDocuments();
    onlyAccess[5] = { ...onlyAccess[5], spec: { role: 'deployer', subject: 'team:nobody', envType: 'qa' } };
    const stopped = await apply(onlyAccess);
    expect(stopped.status).toBe(400);
    expect(stopped.body).toMatchObject({
      error: {
        code: 'INVALID_INPUT',
        details: {
          problems: [
            {
              file: 'platform/access.yaml',
              line: 10,
              path: 'spec.subject',
              message: 'team "nobody" does not exist; add a Team document',
            },
          ],
        },
      },
    });
    expect(await server.store.definitions.get('qa-postgres')).toBeUndefined();
    expect(await server.store.envTypes.get('qa')).toBeUndefined();
    expect(await server.store.principals.findByName('dana')).toBeUndefined();
    expect(await server.store.teams.get('qa-team')).toBeUndefined();
    const targets = await server.request('GET', '/api/v1/targets', { token });
    expect(JSON.stringify(targets.body)).not.toContain('qa-docker');
  });

  it('refuses a caller who may not manage users, and audits the refusal', async () => {
    const manny = await server.principal('manny');
    await server.store.grants.grant({ subject: manny.id, role: 'manager', scope: { kind: 'org' } });
    const refused = await apply(mixedDocuments().slice(3), manny.token);
    expect(refused.status).toBe(403);
    expect(await server.store.teams.get('qa-team')).toBeUndefined();
    const [entry] = (await server.store.audit.list({}, { limit: 1 })).items;
    expect(entry).toMatchObject({
      actorName: 'manny',
      action: 'POST /api/v1/apply',
      outcome: 'denied',
      status: 403,
    });
    expect(entry?.permission).toMatch(/^(platform\.apply|users\.manage|teams\.manage)$/);
  });
});
