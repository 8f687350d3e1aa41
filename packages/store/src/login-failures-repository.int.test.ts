import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from './open-store.js';
import type { LockoutRule, Store } from './store.js';
import {
  TEST_ENGINES,
  createTestStore,
  describeEachDatabase,
  type TestStore,
} from './testing/test-databases.js';

const rule: LockoutRule = { threshold: 3, windowSeconds: 60, lockSeconds: 300 };

describeEachDatabase('login failures repository', (getStore, _engine, getClock) => {
  it('counts failures in a window and locks the key at the threshold', async () => {
    const store = getStore();
    const clock = getClock();
    expect(await store.loginFailures.get('user:alice')).toBeUndefined();
    expect(await store.loginFailures.recordFailure('user:alice', clock.now(), rule)).toEqual({
      key: 'user:alice',
      failures: 1,
      firstFailureAt: '2026-01-01T00:00:00.000Z',
    });
    clock.advance(10_000);
    expect(
      (await store.loginFailures.recordFailure('user:alice', clock.now(), rule)).lockedUntil,
    ).toBeUndefined();
    clock.advance(10_000);
    expect(await store.loginFailures.recordFailure('user:alice', clock.now(), rule)).toEqual({
      key: 'user:alice',
      failures: 3,
      firstFailureAt: '2026-01-01T00:00:00.000Z',
      lockedUntil: '2026-01-01T00:05:20.000Z',
    });
    expect(await store.loginFailures.get('user:alice')).toMatchObject({ failures: 3 });
    await store.loginFailures.clear('user:alice');
    expect(await store.loginFailures.get('user:alice')).toBeUndefined();
  });

  it('starts counting afresh once the window has passed', async () => {
    const store = getStore();
    const clock = getClock();
    await store.loginFailures.recordFailure('user:bob', clock.now(), rule);
    await store.loginFailures.recordFailure('user:bob', clock.now(), rule);
    clock.advance(61_000);
    expect(await store.loginFailures.recordFailure('user:bob', clock.now(), rule)).toEqual({
      key: 'user:bob',
      failures: 1,
      firstFailureAt: '2026-01-01T00:01:01.000Z',
    });
  });
});

describe.each(TEST_ENGINES)('login failures from several servers at once [%s]', (engine) => {
  let test: TestStore | undefined;
  let other: Store | undefined;
  afterEach(async () => {
    await other?.close();
    other = undefined;
    await test?.cleanup();
    test = undefined;
  });

  it('counts every concurrent failure', async () => {
    test = await createTestStore(engine);
    other = await openStore(test.options);
    const stores = [test.store, other];
    const at = new Date('2026-01-01T00:00:00Z');
    const wide: LockoutRule = { threshold: 100, windowSeconds: 60, lockSeconds: 60 };
    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        stores[index % 2]!.loginFailures.recordFailure('user:x', at, wide),
      ),
    );
    expect((await test.store.loginFailures.get('user:x'))?.failures).toBe(20);
  });
});
