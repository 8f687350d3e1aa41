/**
 * The mysql driver against the MariaDB server on this machine (127.0.0.1:3306, root without a
 * password). MariaDB checks passwords here, so every credential is proven by logging in. Every
 * test uses an app name of its own and removes what it made.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_NAME_PATTERN } from '../support/shared-names.js';
import { conformanceContext, describeResourceDriver } from '../testing/describe-resource-driver.js';
import { startMisbehavingServer } from '../testing/misbehaving-server.js';
import { sharedServerRequests } from '../testing/shared-server-requests.js';
import {
  createMysqlDriver,
  grantDatabasePattern,
  mysqlNativePasswordHash,
  type MysqlState,
} from './mysql-driver.js';

const INPUTS = { values: { host: '127.0.0.1', port: 3306, adminUser: 'root' }, secrets: {} };
const live = (): AbortSignal => new AbortController().signal;
const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

let dumpDir = '';
beforeAll(async () => {
  dumpDir = await mkdtemp(join(tmpdir(), 'paved-mysql-dumps-'));
});
afterAll(async () => {
  await rm(dumpDir, { recursive: true, force: true });
});

async function connect(user: string, password?: string, database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port: 3306,
    user,
    ...(password === undefined ? {} : { password }),
    ...(database === undefined ? {} : { database }),
  });
}

async function with_<T>(
  connection: Promise<mysql.Connection>,
  work: (c: mysql.Connection) => Promise<T>,
): Promise<T> {
  const c = await connection;
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

const admin = <T>(work: (c: mysql.Connection) => Promise<T>): Promise<T> => with_(connect('root'), work);
const tenant = <T>(
  secrets: Record<string, string>,
  database: string | undefined,
  work: (c: mysql.Connection) => Promise<T>,
): Promise<T> => with_(connect(secrets.username!, secrets.password, database), work);

async function rows(
  c: mysql.Connection,
  sql: string,
  values: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  const [result] = await c.query(sql, values);
  return result as Record<string, unknown>[];
}

const { resource, request, deprovisionRequest, credentialsRequest } = sharedServerRequests(
  'mysql',
  INPUTS,
  () => dumpDir,
);

const databaseExists = (name: string): Promise<boolean> =>
  admin(
    async (c) =>
      (await rows(c, 'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name])).length > 0,
  );
const userExists = (name: string): Promise<boolean> =>
  admin(async (c) => (await rows(c, 'SELECT 1 FROM mysql.user WHERE User = ?', [name])).length > 0);

const silent = await startMisbehavingServer('silent');
const garbage = await startMisbehavingServer('garbage');
afterAll(async () => {
  await silent.close();
  await garbage.close();
});
const at = (port: number, more: Record<string, unknown> = {}) => ({
  values: { host: '127.0.0.1', port, ...more },
  secrets: {},
});

const conformanceApp = unique('ct');
describeResourceDriver('mysql', () => createMysqlDriver({ dumpDir }), {
  inputs: INPUTS,
  params: {},
  context: { app: conformanceApp },
  malformed: { values: { host: '127.0.0.1', userHost: "%' OR 1=1 --" }, secrets: {} },
  malformedResult: { inputs: at(garbage.port) },
  timeout: { inputs: at(silent.port, { connectTimeoutSeconds: 1 }), withinMs: 5_000 },
  cancel: { inputs: at(silent.port, { connectTimeoutSeconds: 60 }) },
  check: async (outputs, secrets) => {
    expect(outputs).toMatchObject({ host: '127.0.0.1', port: 3306 });
    await tenant(secrets, String(outputs.database), async (c) => {
      await c.query('CREATE TABLE orders (id int primary key)');
      await c.query('INSERT INTO orders VALUES (1)');
      expect(await rows(c, 'SELECT count(*) AS n FROM orders')).toEqual([{ n: 1 }]);
    });
  },
});
afterAll(async () => {
  await createMysqlDriver({ dumpDir }).deprovision(
    deprovisionRequest(conformanceApp, 'orders.mysql', undefined),
    live(),
  );
});

describe('mysql driver helpers', () => {
  it('hashes passwords the way MariaDB does', async () => {
    const [row] = await admin((c) => rows(c, "SELECT PASSWORD('pencil') AS hash"));
    expect(mysqlNativePasswordHash('pencil')).toBe(row!.hash);
  });

  it('escapes the wildcards of a database name in a grant', () => {
    expect(grantDatabasePattern('paved_a%b\\c')).toBe('paved\\_a\\%b\\\\c');
  });
});

describe('mysql driver', () => {
  const driver = createMysqlDriver({ dumpDir });

  it('provisions a database and a user, and again to the same outputs and password', async () => {
    const app = unique('my');
    const first = await driver.provision(request(app, 'orders.db'), live());
    const state = first.state as MysqlState;
    try {
      expect(state.flavor).toBe('mariadb');
      expect(state.database).toMatch(SHARED_NAME_PATTERN);
      expect(state.database.startsWith(`paved_${app.replace('-', '_')}_dev_orders_db_`)).toBe(true);
      expect(first.outputs).toEqual({
        host: '127.0.0.1',
        port: 3306,
        name: state.database,
        database: state.database,
      });
      expect(first.secrets).toEqual({
        username: `${state.loginBase}_1`,
        password: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      });
      await tenant(first.secrets, state.database, async (c) => {
        await c.query("CREATE TABLE kept AS SELECT 'still here' AS v");
      });
      const again = await driver.provision(
        request(app, 'orders.db', { previousState: first.state, previousSecrets: first.secrets }),
        live(),
      );
      expect(again).toEqual(first);
      await tenant(first.secrets, state.database, async (c) => {
        expect(await rows(c, 'SELECT v FROM kept')).toEqual([{ v: 'still here' }]);
      });
      const logs: string[] = [];
      const reset = await driver.provision(
        request(app, 'orders.db', { previousState: first.state, log: (line) => logs.push(line) }),
        live(),
      );
      expect(reset.secrets.password).not.toBe(first.secrets.password);
      expect(logs.join('\n')).toContain('setting a new one');
      await expect(tenant(first.secrets, state.database, (c) => c.query('SELECT 1'))).rejects.toThrow(
        /Access denied/,
      );
      await tenant(reset.secrets, state.database, (c) => c.query('SELECT 1'));
    } finally {
      await driver.deprovision(deprovisionRequest(app, 'orders.db', first.state), live());
    }
  });

  it('keeps each resource in its own database: no reading, writing or connecting across', async () => {
    const app = unique('iso');
    const a = await driver.provision(request(app, 'a.db'), live());
    const b = await driver.provision(request(app, 'b.db'), live());
    const dbA = (a.state as MysqlState).database;
    const dbB = (b.state as MysqlState).database;
    // A database whose name matches A's grant if `_` were a wildcard there.
    const lookalike = `${dbA.slice(0, 5)}X${dbA.slice(6)}`;
    await admin((c) => c.query(`CREATE DATABASE ${c.escapeId(lookalike)}`));
    try {
      await tenant(b.secrets, dbB, (c) => c.query("CREATE TABLE secret AS SELECT 'b-only' AS v"));
      await expect(tenant(a.secrets, dbB, (c) => c.query('SELECT 1'))).rejects.toThrow(
        /Access denied .* to database/,
      );
      await expect(tenant(a.secrets, 'mysql', (c) => c.query('SELECT 1'))).rejects.toThrow(/Access denied/);
      await expect(tenant(a.secrets, lookalike, (c) => c.query('SELECT 1'))).rejects.toThrow(/Access denied/);
      await tenant(a.secrets, dbA, async (c) => {
        await expect(c.query(`SELECT * FROM ${c.escapeId(dbB)}.secret`)).rejects.toThrow(/denied/);
        await expect(c.query(`CREATE TABLE ${c.escapeId(dbB)}.intruder (x int)`)).rejects.toThrow(/denied/);
        await expect(c.query(`CREATE TABLE ${c.escapeId(lookalike)}.intruder (x int)`)).rejects.toThrow(
          /denied/,
        );
        await expect(c.query('SELECT * FROM mysql.user')).rejects.toThrow(/denied/);
        await expect(c.query(`CREATE DATABASE ${c.escapeId(unique('x'))}`)).rejects.toThrow(/denied/);
        await expect(c.query(`CREATE USER 'intruder'@'%'`)).rejects.toThrow(/denied/);
        const visible = (await rows(c, 'SHOW DATABASES')).map((row) => row.Database);
        expect(visible).toContain(dbA);
        expect(visible).not.toContain(dbB);
        expect(visible).not.toContain(lookalike);
      });
      const grants = await admin((c) => rows(c, `SHOW GRANTS FOR ${c.escape(a.secrets.username!)}@'%'`));
      expect(JSON.stringify(grants)).toContain(grantDatabasePattern(dbA).replace(/\\/g, '\\\\'));
    } finally {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeId(lookalike)}`));
      await driver.deprovision(deprovisionRequest(app, 'a.db', a.state), live());
      await driver.deprovision(deprovisionRequest(app, 'b.db', b.state), live());
    }
  });

  it('rotates credentials in two steps: both users work until the old one is revoked', async () => {
    const app = unique('rot');
    const first = await driver.provision(request(app, 'orders.db'), live());
    const database = (first.state as MysqlState).database;
    let state = first.state;
    const oldSession = await connect(first.secrets.username!, first.secrets.password, database);
    oldSession.on('error', () => undefined);
    try {
      await oldSession.query("CREATE TABLE t AS SELECT 'before' AS v");
      const rotated = await driver.rotateCredentials!(
        credentialsRequest(app, 'orders.db', first.state, first.secrets),
        live(),
      );
      state = rotated.state;
      expect(rotated.secrets.username).toBe(`${(first.state as MysqlState).loginBase}_2`);
      await tenant(rotated.secrets, database, async (c) => {
        expect(await rows(c, 'SELECT v FROM t')).toEqual([{ v: 'before' }]);
        await c.query("INSERT INTO t VALUES ('after')");
      });
      await tenant(first.secrets, database, (c) => c.query('SELECT 1'));
      await expect(
        driver.rotateCredentials!(
          credentialsRequest(app, 'orders.db', rotated.state, rotated.secrets),
          live(),
        ),
      ).rejects.toMatchObject({ code: 'CONFLICT' });
      const redeployed = await driver.provision(
        request(app, 'orders.db', { previousState: rotated.state, previousSecrets: rotated.secrets }),
        live(),
      );
      expect(redeployed).toEqual(rotated);
      const revoked = await driver.revokePreviousCredentials!(
        credentialsRequest(app, 'orders.db', rotated.state, rotated.secrets),
        live(),
      );
      state = revoked.state;
      expect((revoked.state as MysqlState).login).toEqual({ current: 2 });
      await expect(oldSession.query('SELECT 1')).rejects.toThrow();
      await expect(tenant(first.secrets, database, (c) => c.query('SELECT 1'))).rejects.toThrow(/locked/);
      await tenant(revoked.secrets, database, async (c) => {
        expect(await rows(c, 'SELECT count(*) AS n FROM t')).toEqual([{ n: 2 }]);
      });
      // A second rotation uses the first user again, unlocked with a new password.
      const second = await driver.rotateCredentials!(
        credentialsRequest(app, 'orders.db', revoked.state, revoked.secrets),
        live(),
      );
      state = second.state;
      expect(second.secrets.username).toBe(first.secrets.username);
      await tenant(second.secrets, database, (c) => c.query('SELECT 1'));
      await expect(tenant(first.secrets, database, (c) => c.query('SELECT 1'))).rejects.toThrow(
        /Access denied/,
      );
    } finally {
      oldSession.destroy();
      await driver.deprovision(deprovisionRequest(app, 'orders.db', state), live());
    }
  });

  it('dumps before it drops the database and its users; twice is fine', async () => {
    const app = unique('dump');
    const first = await driver.provision(request(app, 'orders.db'), live());
    const state = first.state as MysqlState;
    await tenant(first.secrets, state.database, (c) =>
      c.query("CREATE TABLE precious AS SELECT 'keep me' AS v"),
    );
    const dir = join(dumpDir, app);
    const logs: string[] = [];
    await driver.deprovision(
      { ...deprovisionRequest(app, 'orders.db', state), dumpDir: dir, log: (l) => logs.push(l) },
      live(),
    );
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    const text = await readFile(join(dir, files[0]!), 'utf8');
    expect(text).toContain('CREATE TABLE `precious`');
    expect(text).toContain('keep me');
    expect(logs.join('\n')).toContain(join(dir, files[0]!));
    expect(await databaseExists(state.database)).toBe(false);
    expect(await userExists(`${state.loginBase}_1`)).toBe(false);
    await driver.deprovision({ ...deprovisionRequest(app, 'orders.db', state), dumpDir: dir }, live());
    expect(await readdir(dir)).toHaveLength(1);
  });

  describe('clear errors', () => {
    it('names the server and the inputs when it cannot connect', async () => {
      const inputs = { values: { host: '127.0.0.1', port: 1 }, secrets: { adminPassword: 'hunter2-canary' } };
      const error = (await driver
        .provision({ ...request(unique('e'), 'db'), inputs }, live())
        .catch((e: unknown) => e)) as Error;
      expect(error).toMatchObject({ code: 'DRIVER_FAILED' });
      expect(error.message).toMatch(/cannot reach MySQL\/MariaDB at 127\.0\.0\.1:1 .*inputs host and port/);
      expect(`${error.message} ${String(error.cause)}`).not.toContain('hunter2-canary');
    });

    it('says the admin password is wrong without printing it', async () => {
      const inputs = { values: { host: '127.0.0.1' }, secrets: { adminPassword: 'hunter2-canary' } };
      const error = (await driver
        .provision({ ...request(unique('e'), 'db'), inputs }, live())
        .catch((e: unknown) => e)) as Error;
      expect(error.message).toMatch(/refused admin user "root" .*adminUser and adminPassword/);
      expect(`${error.message} ${String(error.cause)} ${JSON.stringify(error)}`).not.toContain(
        'hunter2-canary',
      );
    });

    it('names the privilege the admin lacks', async () => {
      const weak = `paved_test_weak_${randomBytes(4).toString('hex')}`;
      await admin((c) => c.query(`CREATE USER ${c.escape(weak)}@'%'`));
      try {
        const inputs = { values: { host: '127.0.0.1', adminUser: weak }, secrets: {} };
        const error = (await driver
          .provision({ ...request(unique('e'), 'db'), inputs }, live())
          .catch((e: unknown) => e)) as Error;
        expect(error.message).toContain(
          `admin user "${weak}" on MySQL/MariaDB at 127.0.0.1:3306 may not create database`,
        );
        expect(error.message).toContain('CREATE USER and GRANT OPTION');
      } finally {
        await admin((c) => c.query(`DROP USER ${c.escape(weak)}@'%'`));
      }
    });

    it('completes what a crashed provisioning left half made, without duplicates', async () => {
      const app = unique('half');
      const first = await driver.provision(request(app, 'orders.db'), live());
      const state = first.state as MysqlState;
      try {
        // As if the crash came after the database and before the user, and nothing was recorded.
        await admin((c) => c.query(`DROP USER ${c.escape(first.secrets.username!)}@'%'`));
        const retried = await driver.provision(request(app, 'orders.db'), live());
        expect(retried.state).toEqual(first.state);
        await tenant(retried.secrets, state.database, (c) => c.query('CREATE TABLE t (x int)'));
        const users = await admin((c) =>
          rows(c, 'SELECT User FROM mysql.user WHERE User LIKE ?', [`${state.loginBase}%`]),
        );
        expect(users).toEqual([{ User: retried.secrets.username }]);
      } finally {
        await driver.deprovision(deprovisionRequest(app, 'orders.db', first.state), live());
      }
    });
  });

  describe('hostile identifiers', () => {
    const canaryDb = `paved_canary_${randomBytes(4).toString('hex')}`;
    beforeAll(async () => {
      await admin(async (c) => {
        await c.query(`CREATE DATABASE ${canaryDb}`);
        await c.query(`CREATE TABLE ${canaryDb}.canary (v int)`);
        await c.query(`INSERT INTO ${canaryDb}.canary VALUES (1)`);
      });
    });
    afterAll(async () => {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${canaryDb}`));
    });
    const canaryIntact = async (): Promise<void> => {
      expect(await admin((c) => rows(c, `SELECT count(*) AS n FROM ${canaryDb}.canary`))).toEqual([{ n: 1 }]);
    };
    // Each row carries this run's token where the row is not hostile, so concurrent runs never share names.
    const run = randomBytes(4).toString('hex');
    const hostile: [string, string, string][] = [
      ["it's", `dev-${run}`, `x\`; DROP DATABASE ${canaryDb}; --`],
      [`shop-${run}`, "a'; DROP TABLE canary; --", 'db'],
      ['`tick`', `dev-${run}`, `orders.db'); DROP DATABASE ${canaryDb}; --`],
      [`shop-${run}`, 'dev', 'база-данных.数据库.😀'],
      ['shop', 'dev', `${run}-${'x'.repeat(190)}a`],
      ['shop', 'dev', `${run}-${'x'.repeat(190)}b`],
    ];

    it('quotes and shortens every name; nothing is injected, long names stay distinct', async () => {
      const names = new Set<string>();
      for (const [app, env, id] of hostile) {
        const context = { ...conformanceContext({ app }), env };
        let stored: unknown;
        try {
          const result = await driver.provision({ resource: resource(id), context, inputs: INPUTS }, live());
          stored = result.state;
          const state = result.state as MysqlState;
          expect(state.database).toMatch(SHARED_NAME_PATTERN);
          expect(state.database.length).toBeLessThanOrEqual(64);
          expect(result.secrets.username).toMatch(SHARED_NAME_PATTERN);
          expect(result.secrets.username!.length).toBeLessThanOrEqual(80);
          names.add(state.database);
          await tenant(result.secrets, state.database, (c) => c.query('CREATE TABLE t (x int)'));
          await canaryIntact();
        } finally {
          const { dependencies: _d, values: _v, network: _n, ...context2 } = context;
          await driver.deprovision(
            { resource: resource(id), context: context2, inputs: INPUTS, state: stored, dumpDir },
            live(),
          );
        }
      }
      expect(names.size).toBe(hostile.length);
      await canaryIntact();
    });

    it('refuses stored state whose names Paved did not make', async () => {
      const tampered: MysqlState = {
        version: 1,
        database: `paved_x\`; DROP DATABASE ${canaryDb}; --`,
        loginBase: 'paved_x',
        userHost: '%',
        flavor: 'mariadb',
        login: { current: 1 },
      };
      const app = unique('tamper');
      await expect(
        driver.provision(request(app, 'db', { previousState: tampered }), live()),
      ).rejects.toMatchObject({
        code: 'INVALID_INPUT',
      });
      await expect(driver.deprovision(deprovisionRequest(app, 'db', tampered), live())).rejects.toMatchObject(
        {
          code: 'INVALID_INPUT',
        },
      );
      await canaryIntact();
    });
  });
});
