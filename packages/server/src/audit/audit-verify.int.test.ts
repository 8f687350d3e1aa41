/**
 * `GET /api/v1/audit/verify` after someone with database access edited the log: the answer names
 * the entry that broke, on SQLite and PostgreSQL.
 */
import { ManualClock } from '@paved/core';
import { openDatabase } from '@paved/store/open-database';
import { TEST_ENGINES, createTestStore, type TestStore } from '@paved/store/testing/test-databases';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestServer } from '../testing/test-server.js';

describe.each(TEST_ENGINES)('audit verification through the API [%s]', (engine) => {
  let test: TestStore | undefined;
  afterEach(async () => {
    await test?.cleanup();
    test = undefined;
  });

  it('reports the entry whose row was edited in the database', async () => {
    test = await createTestStore(engine, { clock: new ManualClock() });
    const server = createTestServer(test.store, new ManualClock());
    const admin = await server.principal('root', { administrator: true });
    for (const name of ['shop', 'blog', 'wiki']) {
      expect(
        (await server.request('POST', '/api/v1/apps', { token: admin.token, body: { name } })).status,
      ).toBe(201);
    }
    const before = await server.request('GET', '/api/v1/audit/verify', { token: admin.token });
    expect(before.body).toEqual({ ok: true, entries: 3, head: { seq: 3, hash: expect.any(String) } });

    // Someone with database access makes it look as if another app had been created.
    const { db } = await openDatabase(test.options);
    try {
      await db.updateTable('audit_log').set({ object: '/api/v1/apps#other' }).where('seq', '=', 2).execute();
    } finally {
      await db.destroy();
    }
    const after = await server.request('GET', '/api/v1/audit/verify', { token: admin.token });
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({
      ok: false,
      entries: 1,
      broken: { seq: 2, reason: expect.stringMatching(/^entry 2 was changed after it was written/) },
    });
  });
});
