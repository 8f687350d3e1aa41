import { expect, it } from 'vitest';
import type { ResourceDefinitionContent } from './store.js';
import { describeEachDatabase } from './testing/test-databases.js';

const POSTGRES: ResourceDefinitionContent = {
  name: 'dev-postgres',
  type: 'postgres',
  driver: 'echo',
  inputs: {
    values: { host: '127.0.0.1', port: 5432, nested: { list: [1, 'two'] } },
    secrets: { password: 'sealed:a' },
  },
  secretRefs: { password: { env: 'PG_PASSWORD' } },
  criteria: [{ env_type: 'development' }, { app: 'shop', class: 'large' }],
};

describeEachDatabase('resource definitions repository', (getStore) => {
  it('creates version 1, keeps it for unchanged content and adds a version for a change', async () => {
    const store = getStore();
    const created = await store.definitions.put(POSTGRES, 'fp1', 'alice');
    expect(created).toEqual({
      action: 'created',
      definition: { ...POSTGRES, version: 1, createdAt: '2026-01-01T00:00:00.000Z', createdBy: 'alice' },
    });
    const again = await store.definitions.put(
      { ...POSTGRES, inputs: { ...POSTGRES.inputs, secrets: { password: 'sealed:b' } } },
      'fp1',
      'bob',
    );
    expect(again).toEqual({ ...created, action: 'unchanged' });
    const changed = await store.definitions.put(
      { ...POSTGRES, class: 'large', stateful: true },
      'fp2',
      'bob',
    );
    expect(changed.action).toBe('updated');
    expect(changed.definition).toMatchObject({
      version: 2,
      class: 'large',
      stateful: true,
      createdBy: 'bob',
    });
    expect(await store.definitions.get('dev-postgres')).toEqual(changed.definition);
  });

  it('numbers versions per name and lists the latest of each by name', async () => {
    const store = getStore();
    await store.definitions.put({ ...POSTGRES, name: 'b' }, 'x', 'alice');
    await store.definitions.put({ ...POSTGRES, name: 'b' }, 'y', 'alice');
    await store.definitions.put({ ...POSTGRES, name: 'a', type: 'redis' }, 'x', 'alice');
    const listed = await store.definitions.list();
    expect(listed.map((definition) => [definition.name, definition.version, definition.type])).toEqual([
      ['a', 1, 'redis'],
      ['b', 2, 'postgres'],
    ]);
    expect(await store.definitions.get('nope')).toBeUndefined();
  });

  it('deletes, and a definition applied again continues its version numbers', async () => {
    const store = getStore();
    await store.definitions.put(POSTGRES, 'fp1', 'alice');
    expect(await store.definitions.delete('dev-postgres')).toBe(true);
    expect(await store.definitions.delete('dev-postgres')).toBe(false);
    expect(await store.definitions.get('dev-postgres')).toBeUndefined();
    expect(await store.definitions.list()).toEqual([]);
    const again = await store.definitions.put(POSTGRES, 'fp1', 'alice');
    expect(again.action).toBe('created');
    expect(again.definition.version).toBe(2);
  });

  it('rolls back with the transaction it runs in', async () => {
    const store = getStore();
    await expect(
      store.transaction(async (trx) => {
        await trx.definitions.put(POSTGRES, 'fp1', 'alice');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await store.definitions.list()).toEqual([]);
  });
});
