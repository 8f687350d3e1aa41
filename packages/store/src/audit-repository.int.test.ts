import { sql, type Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { AUDIT_GENESIS_HASH, auditEntryHash } from './audit-chain.js';
import type { Database } from './database.js';
import { openDatabase } from './open-database.js';
import { openStore } from './open-store.js';
import type { AuditEntryInput, Store, StoreOptions } from './store.js';
import {
  TEST_ENGINES,
  createTestStore,
  describeEachDatabase,
  type TestStore,
} from './testing/test-databases.js';

function entry(index: number, extra: Partial<AuditEntryInput> = {}): AuditEntryInput {
  return {
    actorId: 'p-1',
    actorName: 'alice',
    actorKind: 'user',
    tokenId: 't-1',
    action: 'POST /api/v1/apps',
    permission: 'apps.create',
    object: `/api/v1/apps#${index}`,
    outcome: 'succeeded',
    status: 201,
    ...extra,
  };
}

/** Runs `work` on the raw database behind a store, as someone with database access would. */
async function withRawDatabase(options: StoreOptions, work: (db: Kysely<Database>) => Promise<unknown>) {
  const { db } = await openDatabase(options);
  try {
    await work(db);
  } finally {
    await db.destroy();
  }
}

describeEachDatabase('audit repository', (getStore, _engine, getClock) => {
  it('appends entries chained by hash, numbered from 1', async () => {
    const store = getStore();
    const first = await store.audit.append(
      entry(1, {
        details: { role: 'owner', nested: { b: 2, a: 1 } },
        app: 'shop',
        remoteAddress: '10.0.0.1',
      }),
    );
    getClock().advance(1000);
    const second = await store.audit.append(entry(2, { outcome: 'denied', status: 403 }));
    expect(first).toMatchObject({ seq: 1, at: '2026-01-01T00:00:00.000Z', prevHash: AUDIT_GENESIS_HASH });
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(second).toMatchObject({ seq: 2, at: '2026-01-01T00:00:01.000Z', prevHash: first.hash });
    const { prevHash: _p, hash: _h, ...fields } = second;
    expect(second.hash).toBe(auditEntryHash(first.hash, fields));
    // What is read back hashes the same as what was written.
    const listed = await store.audit.list({}, { order: 'asc' });
    expect(listed.items).toEqual([first, second]);
    expect(await store.audit.verify()).toEqual({
      ok: true,
      entries: 2,
      head: { seq: 2, hash: second.hash },
    });
  });

  it('verifies an empty log', async () => {
    expect(await getStore().audit.verify()).toEqual({
      ok: true,
      entries: 0,
      head: { seq: 0, hash: AUDIT_GENESIS_HASH },
    });
  });

  it('filters and pages, newest first unless asked otherwise', async () => {
    const store = getStore();
    for (let index = 1; index <= 5; index += 1) {
      await store.audit.append(
        entry(index, { actorName: index % 2 === 0 ? 'bob' : 'alice', app: index <= 3 ? 'shop' : 'blog' }),
      );
      getClock().advance(60_000);
    }
    const newest = await store.audit.list({}, { limit: 2 });
    expect(newest.items.map((item) => item.seq)).toEqual([5, 4]);
    const next = await store.audit.list({}, { limit: 2, after: newest.next ?? undefined });
    expect(next.items.map((item) => item.seq)).toEqual([3, 2]);
    expect((await store.audit.list({ actor: 'bob' })).items.map((item) => item.seq)).toEqual([4, 2]);
    expect((await store.audit.list({ app: 'blog' }, { order: 'asc' })).items.map((item) => item.seq)).toEqual(
      [4, 5],
    );
    expect(
      (
        await store.audit.list({ since: '2026-01-01T00:02:00.000Z', until: '2026-01-01T00:04:00.000Z' })
      ).items.map((item) => item.seq),
    ).toEqual([4, 3]);
    await expect(store.audit.list({ since: 'yesterday' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('keeps the chain whole when many appends run at once', async () => {
    const store = getStore();
    const appended = await Promise.all(
      Array.from({ length: 40 }, (_, index) => store.audit.append(entry(index))),
    );
    expect(appended.map((item) => item.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 40 }, (_, index) => index + 1),
    );
    expect((await store.audit.verify()).ok).toBe(true);
  });
});

describe.each(TEST_ENGINES)('audit log tampering and concurrent writers [%s]', (engine) => {
  let test: TestStore | undefined;
  let others: Store[] = [];
  afterEach(async () => {
    for (const other of others) await other.close();
    others = [];
    await test?.cleanup();
    test = undefined;
  });

  async function withEntries(count: number): Promise<TestStore> {
    test = await createTestStore(engine);
    for (let index = 1; index <= count; index += 1) await test.store.audit.append(entry(index));
    return test;
  }

  it('never forks the chain when several servers append at once', async () => {
    test = await createTestStore(engine);
    others = [await openStore(test.options), await openStore(test.options)];
    const writers = [test.store, ...others];
    const appended = await Promise.all(
      Array.from({ length: 30 }, (_, index) => writers[index % writers.length]!.audit.append(entry(index))),
    );
    expect(new Set(appended.map((item) => item.seq)).size).toBe(30);
    expect(new Set(appended.map((item) => item.prevHash)).size).toBe(30);
    expect(await test.store.audit.verify()).toMatchObject({ ok: true, entries: 30, head: { seq: 30 } });
  });

  it('names the entry whose row was edited in the database', async () => {
    const { store, options } = await withEntries(5);
    await withRawDatabase(options, (db) =>
      db.updateTable('audit_log').set({ outcome: 'denied' }).where('seq', '=', 3).execute(),
    );
    const result = await store.audit.verify();
    expect(result.ok).toBe(false);
    expect(result.entries).toBe(2);
    expect(result.broken?.seq).toBe(3);
    expect(result.broken?.reason).toMatch(/^entry 3 was changed after it was written/);
  });

  it('names the next entry when an edited row was given a recomputed hash', async () => {
    const { store, options } = await withEntries(5);
    const [third] = (await store.audit.list({}, { order: 'asc', limit: 5 })).items.slice(2);
    const { prevHash, hash: _hash, ...fields } = third!;
    const forged = { ...fields, actorName: 'mallory' };
    await withRawDatabase(options, (db) =>
      db
        .updateTable('audit_log')
        .set({ actor_name: 'mallory', hash: auditEntryHash(prevHash, forged) })
        .where('seq', '=', 3)
        .execute(),
    );
    expect((await store.audit.verify()).broken).toEqual({
      seq: 4,
      reason: expect.stringMatching(/^entry 4 does not link to entry 3/),
    });
  });

  it('notices deleted entries, in the middle and at the end', async () => {
    const { store, options } = await withEntries(5);
    await withRawDatabase(options, (db) => db.deleteFrom('audit_log').where('seq', '=', 2).execute());
    expect((await store.audit.verify()).broken).toEqual({
      seq: 2,
      reason: 'entry 2 is missing (the next entry is 3): entries were deleted',
    });
    await withRawDatabase(options, (db) => db.deleteFrom('audit_log').where('seq', '>=', 2).execute());
    expect((await store.audit.verify()).broken).toEqual({
      seq: 2,
      reason: 'the log ends at entry 1 but its head says 5 entries were written: entries 2 to 5 were deleted',
    });
  });

  it('notices an entry inserted behind the head', async () => {
    const { store, options } = await withEntries(2);
    const [last] = (await store.audit.list({}, { limit: 1 })).items;
    await withRawDatabase(options, async (db) => {
      const fields = {
        seq: 3,
        at: '2026-01-01T00:00:00.000Z',
        actorKind: 'system' as const,
        action: 'x',
        object: 'y',
        outcome: 'succeeded' as const,
      };
      await sql`insert into audit_log (seq, at, actor_kind, action, object, outcome, prev_hash, hash) values (${3}, ${fields.at}, ${'system'}, ${'x'}, ${'y'}, ${'succeeded'}, ${last!.hash}, ${auditEntryHash(last!.hash, fields)})`.execute(
        db,
      );
    });
    expect((await store.audit.verify()).broken).toEqual({
      seq: 3,
      reason: 'entries after 2 were added without moving the head: they were not appended by Paved',
    });
  });
});
