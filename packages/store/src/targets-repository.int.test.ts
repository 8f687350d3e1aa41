import { expect, it } from 'vitest';
import type { TargetContent } from './store.js';
import { describeEachDatabase } from './testing/test-databases.js';

const DOCKER: TargetContent = {
  name: 'staging-docker',
  type: 'docker',
  settings: { host: 'unix:///run/podman/podman.sock', registries: { '127.0.0.1:5001': { username: 'ci' } } },
  secrets: { 'registries.127.0.0.1:5001.password': 'sealed:a' },
  secretRefs: { 'registries.127.0.0.1:5001.password': { env: 'REGISTRY_PASSWORD' } },
};

describeEachDatabase('targets repository', (getStore, _engine, getClock) => {
  it('creates version 1, keeps it for unchanged content and adds a version for a change', async () => {
    const store = getStore();
    const created = await store.targets.put(DOCKER, 'fp1', 'alice');
    expect(created).toEqual({
      action: 'created',
      target: { ...DOCKER, version: 1, createdAt: '2026-01-01T00:00:00.000Z', createdBy: 'alice' },
    });
    // Sealed values differ on every seal; the fingerprint decides.
    const again = await store.targets.put({ ...DOCKER, secrets: { other: 'sealed:b' } }, 'fp1', 'bob');
    expect(again).toEqual({ ...created, action: 'unchanged' });
    getClock().advance(1000);
    const changed = await store.targets.put({ ...DOCKER, settings: { registries: {} } }, 'fp2', 'bob');
    expect(changed.action).toBe('updated');
    expect(changed.target).toMatchObject({
      version: 2,
      settings: { registries: {} },
      createdAt: '2026-01-01T00:00:01.000Z',
      createdBy: 'bob',
    });
    expect(await store.targets.get('staging-docker')).toEqual(changed.target);
  });

  it('lists the latest version of each by name', async () => {
    const store = getStore();
    await store.targets.put({ ...DOCKER, name: 'b' }, 'x', 'alice');
    await store.targets.put({ ...DOCKER, name: 'b' }, 'y', 'alice');
    await store.targets.put(
      {
        name: 'a',
        type: 'kubernetes',
        settings: { context: 'prod' },
        secrets: { kubeconfig: 'sealed:k' },
        secretRefs: { kubeconfig: { file: './kubeconfig' } },
      },
      'x',
      'alice',
    );
    const listed = await store.targets.list();
    expect(listed.map((target) => [target.name, target.version, target.type])).toEqual([
      ['a', 1, 'kubernetes'],
      ['b', 2, 'docker'],
    ]);
    expect(listed[0]?.secretRefs).toEqual({ kubeconfig: { file: './kubeconfig' } });
    expect(await store.targets.get('nope')).toBeUndefined();
  });

  it('deletes, and a target applied again continues its version numbers', async () => {
    const store = getStore();
    await store.targets.put(DOCKER, 'fp1', 'alice');
    expect(await store.targets.delete('staging-docker')).toBe(true);
    expect(await store.targets.delete('staging-docker')).toBe(false);
    expect(await store.targets.get('staging-docker')).toBeUndefined();
    expect(await store.targets.list()).toEqual([]);
    const again = await store.targets.put(DOCKER, 'fp1', 'alice');
    expect(again.action).toBe('created');
    expect(again.target.version).toBe(2);
  });

  it('refuses a target without a name, and rolls back with its transaction', async () => {
    const store = getStore();
    await expect(store.targets.put({ ...DOCKER, name: '' }, 'fp', 'alice')).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(
      store.transaction(async (trx) => {
        await trx.targets.put(DOCKER, 'fp1', 'alice');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await store.targets.list()).toEqual([]);
  });
});
