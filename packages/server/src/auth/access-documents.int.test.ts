import { PavedError } from '@paved/core';
import { describeEachDatabase } from '@paved/store/testing/test-databases';
import { expect, it } from 'vitest';
import { applyAccessDocuments, isAccessDocument } from './access-documents.js';

const doc = (kind: string, name: string, spec?: Record<string, unknown>, line = 1) => ({
  file: 'access.yaml',
  line,
  apiVersion: 'paved.dev/v1',
  kind,
  metadata: { name },
  ...(spec === undefined ? {} : { spec }),
});

async function problemsOf(promise: Promise<unknown>): Promise<unknown[]> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PavedError);
    expect((error as PavedError).code).toBe('INVALID_INPUT');
    return (error as PavedError).details?.problems as unknown[];
  }
  throw new Error('expected the apply to be refused');
}

describeEachDatabase('applyAccessDocuments', (getStore) => {
  it('creates users, teams and role bindings, and applying again changes nothing', async () => {
    const store = getStore();
    await store.apps.create({ name: 'shop', createdBy: 'root' });
    const documents = [
      doc('RoleBinding', 'web-develops-shop', { role: 'developer', subject: 'team:web', app: 'shop' }),
      doc('Team', 'web', { description: 'Web people', members: ['alice', 'shop-ci'] }),
      doc('User', 'alice', { role: 'manager' }),
      doc('User', 'shop-ci', { serviceAccount: true, app: 'shop' }),
      doc('RoleBinding', 'alice-deploys', { role: 'deployer', subject: 'user:alice', envType: 'production' }),
    ];
    expect(documents.every(isAccessDocument)).toBe(true);
    const first = await applyAccessDocuments(store, documents, { actor: 'root' });
    expect(first).toEqual({
      created: 5,
      updated: 0,
      unchanged: 0,
      items: [
        { kind: 'User', name: 'alice', action: 'created' },
        { kind: 'User', name: 'shop-ci', action: 'created' },
        { kind: 'Team', name: 'web', action: 'created' },
        { kind: 'RoleBinding', name: 'web-develops-shop', action: 'created' },
        { kind: 'RoleBinding', name: 'alice-deploys', action: 'created' },
      ],
    });
    const alice = await store.principals.findByName('alice');
    expect((await store.grants.resolve(alice!.id)).grants.map((grant) => grant.role).sort()).toEqual([
      'deployer',
      'developer',
      'manager',
    ]);
    expect(await store.principals.findByName('shop-ci')).toMatchObject({
      kind: 'service-account',
      app: 'shop',
    });
    expect((await store.teams.members('web')).map((member) => member.name)).toEqual(['alice', 'shop-ci']);

    const again = await applyAccessDocuments(store, documents, { actor: 'root' });
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 5 });
  });

  it('updates what changed: the organisation role, disabling, team members and description', async () => {
    const store = getStore();
    await applyAccessDocuments(
      store,
      [doc('User', 'alice'), doc('User', 'bob'), doc('Team', 'web', { members: ['alice'] })],
      { actor: 'root' },
    );
    const result = await applyAccessDocuments(
      store,
      [
        doc('User', 'alice', { role: 'administrator', disabled: true }),
        doc('Team', 'web', { description: 'Now with Bob', members: ['bob'] }),
      ],
      { actor: 'root' },
    );
    expect(result.items).toEqual([
      { kind: 'User', name: 'alice', action: 'updated' },
      { kind: 'Team', name: 'web', action: 'updated' },
    ]);
    const alice = await store.principals.findByName('alice');
    expect(alice?.disabled).toBe(true);
    expect((await store.grants.list({ subject: alice!.id })).map((grant) => grant.role)).toEqual([
      'administrator',
    ]);
    expect((await store.teams.members('web')).map((member) => member.name)).toEqual(['bob']);
    expect((await store.teams.get('web'))?.description).toBe('Now with Bob');
  });

  it('reports every problem with file, line and path, and writes nothing', async () => {
    const store = getStore();
    const problems = await problemsOf(
      applyAccessDocuments(
        store,
        [
          doc('User', 'Not Valid', {}, 1),
          doc('Team', 'web', { members: ['ghost'] }, 5),
          doc('RoleBinding', 'bad-level', { role: 'deployer', subject: 'user:alice', app: 'shop' }, 9),
          doc('Gadget', 'x', {}, 14),
          doc('User', 'carol', { app: 'shop' }, 17),
        ],
        { actor: 'root' },
      ),
    );
    expect(problems).toEqual([
      {
        file: 'access.yaml',
        line: 1,
        path: 'metadata.name',
        message: 'metadata.name must be 1 to 64 lower-case letters, digits, ".", "_", "@" and "-"',
      },
      {
        file: 'access.yaml',
        line: 9,
        path: 'spec.role',
        message: 'role "deployer" is granted per environment type, not on app "shop"',
      },
      { file: 'access.yaml', line: 14, path: 'kind', message: 'kind must be one of User, Team, RoleBinding' },
      {
        file: 'access.yaml',
        line: 17,
        path: 'spec.app',
        message: 'only service accounts belong to an app; set serviceAccount: true',
      },
    ]);
    // References are checked once every document is valid on its own.
    const references = await problemsOf(
      applyAccessDocuments(
        store,
        [
          doc('Team', 'web', { members: ['ghost'] }, 5),
          doc('RoleBinding', 'b', { role: 'viewer', subject: 'team:nope', app: 'shop' }, 9),
        ],
        { actor: 'root' },
      ),
    );
    expect(references).toEqual([
      {
        file: 'access.yaml',
        line: 5,
        path: 'spec.members[0]',
        message: '"ghost" is not a user or service account; add a User document or create it first',
      },
      {
        file: 'access.yaml',
        line: 9,
        path: 'spec.subject',
        message: 'team "nope" does not exist; add a Team document',
      },
      { file: 'access.yaml', line: 9, path: 'spec.app', message: 'app "shop" does not exist' },
    ]);
    expect((await store.principals.list()).items).toEqual([]);
    expect((await store.teams.list()).items).toEqual([]);
  });
});
