/**
 * Faults of the mysql driver against the machine's MariaDB, through a named definition as a
 * deployment meets them: the admin server unreachable, a wrong admin password, an admin without
 * the privilege, and a crash halfway through provisioning. Each error names the definition, the
 * server and what to do, never a password; a retry then finishes the work, and the server holds
 * one database and one user.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closedPort,
  expectClearFailure,
  provisionThroughDefinition,
  startCuttingProxy,
  type CuttingProxy,
  type FaultDefinition,
} from '../testing/server-faults.js';
import { sharedServerRequests } from '../testing/shared-server-requests.js';
import { createMysqlDriver, type MysqlState } from './mysql-driver.js';

const CANARY = `admin-canary-${randomBytes(6).toString('hex')}`;
const INPUTS = { values: { host: '127.0.0.1', port: 3306, adminUser: 'root' }, secrets: {} };
const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

let dumpDir = '';
beforeAll(async () => {
  dumpDir = await mkdtemp(join(tmpdir(), 'paved-mysql-faults-'));
});
afterAll(async () => {
  await rm(dumpDir, { recursive: true, force: true });
});

const driver = createMysqlDriver();
const { deprovisionRequest } = sharedServerRequests('mysql', INPUTS, () => dumpDir);

const definition = (name: string, values: Record<string, unknown>, secrets: Record<string, string> = {}) =>
  ({
    name,
    type: 'mysql',
    driver,
    inputs: { values: { host: '127.0.0.1', ...values }, secrets },
  }) satisfies FaultDefinition;

async function as<T>(
  user: string,
  password: string | undefined,
  work: (c: mysql.Connection) => Promise<T>,
  database?: string,
): Promise<T> {
  const connection = await mysql.createConnection({
    host: '127.0.0.1',
    port: 3306,
    user,
    ...(password === undefined ? {} : { password }),
    ...(database === undefined ? {} : { database }),
  });
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}
const root = <T>(work: (c: mysql.Connection) => Promise<T>): Promise<T> => as('root', undefined, work);

/** The databases and users on the server whose names start with the app's part of the name. */
async function madeFor(app: string): Promise<{ databases: string[]; users: string[] }> {
  const start = `paved_${app.replace(/-/g, '_')}_`;
  return root(async (c) => {
    const [databases] = await c.query(
      'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE LEFT(SCHEMA_NAME, ?) = ? ORDER BY 1',
      [start.length, start],
    );
    const [users] = await c.query(
      'SELECT CONCAT(User, "@", Host) AS name FROM mysql.user WHERE LEFT(User, ?) = ? ORDER BY 1',
      [start.length, start],
    );
    const names = (result: unknown): string[] => (result as { name: string }[]).map((row) => row.name);
    return { databases: names(databases), users: names(users) };
  });
}

/** A complete resource: its database and one user, which may use it. */
async function expectComplete(app: string, made: { state: unknown; secrets: Record<string, string> }) {
  const state = made.state as MysqlState;
  expect(await madeFor(app)).toEqual({
    databases: [state.database],
    users: [`${made.secrets.username}@${state.userHost}`],
  });
  await as(
    made.secrets.username!,
    made.secrets.password,
    (c) => c.query('CREATE TABLE t (x int)'),
    state.database,
  );
}

async function cleanUp(app: string, id: string): Promise<void> {
  await driver.deprovision(deprovisionRequest(app, id, undefined), new AbortController().signal);
}

describe('mysql driver faults', () => {
  it('an unreachable admin server: names the definition and host:port, hides the password; a retry completes', async () => {
    const app = unique('myf-down');
    const port = await closedPort();
    const error = await provisionThroughDefinition(
      definition('mysql-down', { port }, { adminPassword: CANARY }),
      app,
      'orders.db',
    ).catch((e: unknown) => e);
    expectClearFailure(error, {
      definition: 'mysql-down',
      server: `MySQL/MariaDB at 127.0.0.1:${port}`,
      advice: /check the definition's inputs host and port, and that the server runs/,
      secrets: [CANARY],
    });
    try {
      const made = await provisionThroughDefinition(
        definition('mysql-down', { port: 3306 }),
        app,
        'orders.db',
      );
      await expectComplete(app, made);
    } finally {
      await cleanUp(app, 'orders.db');
    }
  });

  it('a wrong admin password: names the definition, the server and the inputs, never the password', async () => {
    const app = unique('myf-pw');
    const adminUser = `paved_test_admin_${randomBytes(4).toString('hex')}`;
    const password = `right-${randomBytes(8).toString('hex')}`;
    await root(async (c) => {
      await c.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [adminUser, password]);
      await c.query(`GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION`, [adminUser]);
    });
    try {
      const error = await provisionThroughDefinition(
        definition('mysql-pw', { adminUser }, { adminPassword: CANARY }),
        app,
        'orders.db',
      ).catch((e: unknown) => e);
      expectClearFailure(error, {
        definition: 'mysql-pw',
        server: `MySQL/MariaDB at 127.0.0.1:3306 refused admin user "${adminUser}"`,
        advice: /check the definition's inputs adminUser and adminPassword/,
        secrets: [CANARY],
      });
      expect(await madeFor(app)).toEqual({ databases: [], users: [] });
      const made = await provisionThroughDefinition(
        definition('mysql-pw', { adminUser }, { adminPassword: password }),
        app,
        'orders.db',
      );
      await expectComplete(app, made);
    } finally {
      await cleanUp(app, 'orders.db');
      await root((c) => c.query(`DROP USER IF EXISTS ?@'%'`, [adminUser]));
    }
  });

  it('an admin that may create databases but not users: names the privilege; granted, the retry finishes', async () => {
    const app = unique('myf-priv');
    const weak = `paved_test_weak_${randomBytes(4).toString('hex')}`;
    const weakPassword = `weak-${randomBytes(8).toString('hex')}`;
    await root(async (c) => {
      await c.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [weak, weakPassword]);
      await c.query(`GRANT CREATE, DROP ON *.* TO ?@'%'`, [weak]);
    });
    const weakDefinition = definition('mysql-weak', { adminUser: weak }, { adminPassword: weakPassword });
    try {
      const error = await provisionThroughDefinition(weakDefinition, app, 'orders.db').catch(
        (e: unknown) => e,
      );
      expectClearFailure(error, {
        definition: 'mysql-weak',
        server: `admin user "${weak}" on MySQL/MariaDB at 127.0.0.1:3306 may not create user`,
        advice: /CREATE USER and GRANT OPTION/,
        secrets: [weakPassword],
      });
      // The database came first: half made.
      const half = await madeFor(app);
      expect([half.databases.length, half.users.length]).toEqual([1, 0]);

      await root((c) => c.query(`GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION`, [weak]));
      const made = await provisionThroughDefinition(weakDefinition, app, 'orders.db');
      await expectComplete(app, made);
      expect((await madeFor(app)).databases).toEqual(half.databases);
    } finally {
      await cleanUp(app, 'orders.db');
      await root((c) => c.query(`DROP USER IF EXISTS ?@'%'`, [weak]));
    }
  });

  describe('a crash halfway through provisioning', () => {
    let proxy: CuttingProxy;
    beforeAll(async () => {
      proxy = await startCuttingProxy(3306);
    });
    afterAll(async () => {
      await proxy.close();
    });

    // The driver's steps in order: the database, the user, its grant.
    for (const [step, marker, halfDatabases, halfUsers] of [
      ['after the database, before the user', 'CREATE USER IF NOT EXISTS', 1, 0],
      ['after the user, before its grant', 'GRANT ALL PRIVILEGES', 1, 1],
    ] as const) {
      it(`stopped ${step}: a retry with nothing recorded completes it without duplicates`, async () => {
        const app = unique('myf-crash');
        const controller = new AbortController();
        proxy.cutAt(marker, () => controller.abort(new Error('the Paved server stopped')));
        try {
          await expect(
            provisionThroughDefinition(
              definition('mysql-crash', { port: proxy.port }),
              app,
              'orders.db',
              controller.signal,
            ),
          ).rejects.toThrow('the Paved server stopped');
          const half = await madeFor(app);
          expect([half.databases.length, half.users.length]).toEqual([halfDatabases, halfUsers]);

          const made = await provisionThroughDefinition(
            definition('mysql-crash', { port: proxy.port }),
            app,
            'orders.db',
          );
          await expectComplete(app, made);
        } finally {
          await cleanUp(app, 'orders.db');
        }
      });
    }

    it('the connection lost halfway (the server crashed): a clear error, and the retry completes', async () => {
      const app = unique('myf-lost');
      proxy.cutAt('CREATE USER IF NOT EXISTS');
      try {
        const error = await provisionThroughDefinition(
          definition('mysql-lost', { port: proxy.port }),
          app,
          'orders.db',
        ).catch((e: unknown) => e);
        expectClearFailure(error, {
          definition: 'mysql-lost',
          server: `MySQL/MariaDB at 127.0.0.1:${proxy.port}`,
          advice: /check the definition's inputs host and port, and that the server runs/,
          secrets: [],
        });
        const made = await provisionThroughDefinition(
          definition('mysql-lost', { port: proxy.port }),
          app,
          'orders.db',
        );
        await expectComplete(app, made);
      } finally {
        await cleanUp(app, 'orders.db');
      }
    });
  });
});
