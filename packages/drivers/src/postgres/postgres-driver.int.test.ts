/**
 * The postgres driver against the PostgreSQL server on this machine (127.0.0.1:5432, trust
 * authentication for 127.0.0.1, so passwords are checked against the stored SCRAM verifier rather
 * than by logging in). Every test uses an app name of its own and removes what it made.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceContext, describeResourceDriver } from '../testing/describe-resource-driver.js';
import { startMisbehavingServer } from '../testing/misbehaving-server.js';
import { sharedServerRequests } from '../testing/shared-server-requests.js';
import { SHARED_NAME_PATTERN } from '../support/shared-names.js';
import { createPostgresDriver, type PostgresState } from './postgres-driver.js';
import { scramKeys, scramSha256Verifier } from './scram-verifier.js';
import { generatePassword } from '../support/shared-credentials.js';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const INPUTS = { values: { host: '127.0.0.1', port: 5432, adminUser: 'postgres' }, secrets: {} };
const live = (): AbortSignal => new AbortController().signal;
const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

let dumpDir = '';
beforeAll(async () => {
  dumpDir = await mkdtemp(join(tmpdir(), 'paved-pg-dumps-'));
});
afterAll(async () => {
  await rm(dumpDir, { recursive: true, force: true });
});

async function admin<T>(work: (client: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL.replace(/postgres$/, database) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function asTenant<T>(
  uri: string,
  work: (client: pg.Client) => Promise<T>,
  database?: string,
): Promise<T> {
  const url = new URL(uri);
  if (database !== undefined) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const { resource, request, deprovisionRequest, credentialsRequest } = sharedServerRequests(
  'postgres',
  INPUTS,
  () => dumpDir,
);

/** Whether the SCRAM verifier PostgreSQL stores for `role` was made from `password`. */
async function storedPasswordIs(role: string, password: string): Promise<boolean> {
  const stored = await admin(async (client) => {
    const row = await client.query<{ rolpassword: string | null }>(
      'SELECT rolpassword FROM pg_authid WHERE rolname = $1',
      [role],
    );
    return row.rows[0]?.rolpassword ?? null;
  });
  const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(stored ?? '');
  if (match === null) return false;
  const keys = scramKeys(password, Buffer.from(match[2]!, 'base64'), Number(match[1]));
  return keys.storedKey.toString('base64') === match[3] && keys.serverKey.toString('base64') === match[4];
}

async function exists(sql: string, name: string): Promise<boolean> {
  return admin(async (client) => ((await client.query(sql, [name])).rowCount ?? 0) > 0);
}
const databaseExists = (name: string): Promise<boolean> =>
  exists('SELECT 1 FROM pg_database WHERE datname = $1', name);
const roleExists = (name: string): Promise<boolean> =>
  exists('SELECT 1 FROM pg_roles WHERE rolname = $1', name);

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
describeResourceDriver('postgres', () => createPostgresDriver({ dumpDir }), {
  inputs: INPUTS,
  params: {},
  context: { app: conformanceApp },
  malformed: { values: { host: '', port: 'five' }, secrets: {} },
  malformedResult: { inputs: at(garbage.port) },
  timeout: { inputs: at(silent.port, { connectTimeoutSeconds: 1 }), withinMs: 5_000 },
  cancel: { inputs: at(silent.port, { connectTimeoutSeconds: 60 }) },
  check: async (outputs, secrets) => {
    expect(outputs).toMatchObject({ host: '127.0.0.1', port: 5432 });
    expect(outputs.name).toBe(outputs.database);
    await asTenant(secrets.uri!, async (client) => {
      await client.query('CREATE TABLE orders (id int primary key)');
      await client.query('INSERT INTO orders VALUES (1)');
      expect((await client.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(1);
    });
  },
});
afterAll(async () => {
  // The conformance case listing output names provisions without deprovisioning.
  await createPostgresDriver({ dumpDir }).deprovision(
    deprovisionRequest(conformanceApp, 'orders.postgres', undefined),
    live(),
  );
});

describe('SCRAM-SHA-256 verifier', () => {
  it('derives the keys PostgreSQL itself derives from a password', async () => {
    const role = `paved_test_scram_${randomBytes(4).toString('hex')}`;
    const password = generatePassword();
    await admin(async (client) => {
      await client.query("SET password_encryption = 'scram-sha-256'");
      await client.query(`CREATE ROLE ${role} PASSWORD ${pg.escapeLiteral(password)}`);
    });
    try {
      // The server salted and hashed it itself; the same salt and count give the same keys here.
      expect(await storedPasswordIs(role, password)).toBe(true);
      expect(await storedPasswordIs(role, `${password}x`)).toBe(false);
    } finally {
      await admin((client) => client.query(`DROP ROLE ${role}`));
    }
    expect(scramSha256Verifier(password)).toMatch(
      /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/,
    );
  });
});

describe('postgres driver', () => {
  const driver = createPostgresDriver({ dumpDir });

  it('provisions a database owned by its own roles, and again to the same outputs and password', async () => {
    const app = unique('pg');
    const first = await driver.provision(request(app, 'orders.db'), live());
    const state = first.state as PostgresState;
    try {
      expect(state.database).toMatch(SHARED_NAME_PATTERN);
      expect(state.database.startsWith(`paved_${app.replace('-', '_')}_dev_orders_db_`)).toBe(true);
      expect(first.secrets.username).toBe(`${state.loginBase}_1`);
      expect(first.secrets.password).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(first.secrets.uri).toBe(
        `postgresql://${first.secrets.username}:${first.secrets.password}@127.0.0.1:5432/${state.database}`,
      );
      expect(await storedPasswordIs(first.secrets.username!, first.secrets.password!)).toBe(true);
      await asTenant(first.secrets.uri!, async (client) => {
        await client.query('CREATE TABLE kept (v text)');
        await client.query("INSERT INTO kept VALUES ('still here')");
        // Sessions act as the owner, so what a login creates belongs to the resource, not the login.
        const owner = await client.query<{ tableowner: string }>(
          "SELECT tableowner FROM pg_tables WHERE tablename = 'kept'",
        );
        expect(owner.rows[0]?.tableowner).toBe(state.owner);
      });

      const logs: string[] = [];
      const again = await driver.provision(
        request(app, 'orders.db', {
          previousState: first.state,
          previousSecrets: first.secrets,
          log: (line) => logs.push(line),
        }),
        live(),
      );
      expect(again).toEqual(first);
      expect(logs).toEqual([]);
      expect(await storedPasswordIs(first.secrets.username!, first.secrets.password!)).toBe(true);
      await asTenant(again.secrets.uri!, async (client) => {
        expect((await client.query('SELECT v FROM kept')).rows).toEqual([{ v: 'still here' }]);
      });

      // Without the previous secrets (a crash before they were recorded) the password is set anew.
      const reset = await driver.provision(
        request(app, 'orders.db', { previousState: first.state, log: (line) => logs.push(line) }),
        live(),
      );
      expect(reset.secrets.username).toBe(first.secrets.username);
      expect(reset.secrets.password).not.toBe(first.secrets.password);
      expect(await storedPasswordIs(first.secrets.username!, reset.secrets.password!)).toBe(true);
      expect(logs.join('\n')).toContain('setting a new one');
      expect(logs.join('\n')).not.toContain(reset.secrets.password);
    } finally {
      await driver.deprovision(deprovisionRequest(app, 'orders.db', first.state), live());
    }
  });

  it('keeps each resource in its own database: no reading, writing or connecting across', async () => {
    const app = unique('iso');
    const a = await driver.provision(request(app, 'a.db'), live());
    const b = await driver.provision(request(app, 'b.db'), live());
    const stateB = b.state as PostgresState;
    try {
      await asTenant(b.secrets.uri!, (client) => client.query("CREATE TABLE secret AS SELECT 'b-only' AS v"));
      // A's login cannot connect to B's database at all.
      await expect(
        asTenant(a.secrets.uri!, (client) => client.query('SELECT 1'), stateB.database),
      ).rejects.toThrow(/permission denied for database/);
      await asTenant(a.secrets.uri!, async (client) => {
        // Nor act as B's owner, nor reach B's table from its own database.
        await expect(client.query(`SET ROLE ${pg.escapeIdentifier(stateB.owner)}`)).rejects.toThrow(
          /permission denied to set role/,
        );
        await expect(client.query(`CREATE DATABASE ${pg.escapeIdentifier(unique('x'))}`)).rejects.toThrow(
          /permission denied to create database/,
        );
        await expect(client.query('CREATE ROLE intruder')).rejects.toThrow(
          /permission denied to create role/,
        );
        await expect(client.query('SELECT rolpassword FROM pg_authid')).rejects.toThrow(/permission denied/);
      });
      // The admin database lets every role connect (PostgreSQL's default, the server's to change);
      // there a tenant can create nothing and read no credentials.
      await asTenant(
        a.secrets.uri!,
        async (client) => {
          await expect(client.query('CREATE TABLE public.intruder (x int)')).rejects.toThrow(
            /permission denied/,
          );
          await expect(client.query('SELECT rolpassword FROM pg_authid')).rejects.toThrow(
            /permission denied/,
          );
        },
        'postgres',
      );
    } finally {
      await driver.deprovision(deprovisionRequest(app, 'a.db', a.state), live());
      await driver.deprovision(deprovisionRequest(app, 'b.db', b.state), live());
    }
  });

  it('rotates credentials in two steps: both logins work until the old one is revoked', async () => {
    const app = unique('rot');
    const first = await driver.provision(request(app, 'orders.db'), live());
    let state = first.state;
    try {
      await asTenant(first.secrets.uri!, (client) => client.query("CREATE TABLE t AS SELECT 'before' AS v"));
      const oldSession = new pg.Client({ connectionString: first.secrets.uri });
      oldSession.on('error', () => undefined);
      await oldSession.connect();

      const rotated = await driver.rotateCredentials!(
        credentialsRequest(app, 'orders.db', first.state, first.secrets),
        live(),
      );
      state = rotated.state;
      expect(rotated.secrets.username).not.toBe(first.secrets.username);
      expect(rotated.secrets.password).not.toBe(first.secrets.password);
      expect(rotated.outputs).toEqual(first.outputs);
      expect(await storedPasswordIs(rotated.secrets.username!, rotated.secrets.password!)).toBe(true);
      // Both logins reach the same data, and what one creates the other may change.
      await asTenant(rotated.secrets.uri!, async (client) => {
        expect((await client.query('SELECT v FROM t')).rows).toEqual([{ v: 'before' }]);
        await client.query("INSERT INTO t VALUES ('after')");
      });
      expect((await oldSession.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(2);

      await expect(
        driver.rotateCredentials!(
          credentialsRequest(app, 'orders.db', rotated.state, rotated.secrets),
          live(),
        ),
      ).rejects.toMatchObject({ code: 'CONFLICT' });

      // A deploy in between keeps the new login and its password.
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
      expect(revoked.secrets).toEqual(rotated.secrets);
      expect((revoked.state as PostgresState).login).toEqual({ current: 2 });
      await expect(oldSession.query('SELECT 1')).rejects.toThrow();
      await expect(asTenant(first.secrets.uri!, (client) => client.query('SELECT 1'))).rejects.toThrow(
        /not permitted to log in/,
      );
      await asTenant(revoked.secrets.uri!, async (client) => {
        expect((await client.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(2);
      });
      // Revoking again finds nothing to revoke.
      const again = await driver.revokePreviousCredentials!(
        credentialsRequest(app, 'orders.db', revoked.state, revoked.secrets),
        live(),
      );
      expect(again).toEqual(revoked);
      await oldSession.end().catch(() => undefined);
    } finally {
      await driver.deprovision(deprovisionRequest(app, 'orders.db', state), live());
    }
  });

  it('dumps with pg_dump before it drops the database and its roles; twice is fine', async () => {
    const app = unique('dump');
    const first = await driver.provision(request(app, 'orders.db'), live());
    const state = first.state as PostgresState;
    await asTenant(first.secrets.uri!, (client) =>
      client.query("CREATE TABLE precious AS SELECT 'keep me' AS v"),
    );
    const logs: string[] = [];
    const dir = join(dumpDir, app);
    await driver.deprovision(
      { ...deprovisionRequest(app, 'orders.db', state), dumpDir: dir, log: (l) => logs.push(l) },
      live(),
    );
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    const file = join(dir, files[0]!);
    expect(files[0]!.startsWith(state.database)).toBe(true);
    expect((await readFile(file)).subarray(0, 5).toString()).toBe('PGDMP');
    expect(execFileSync('pg_restore', ['--list', file], { encoding: 'utf8' })).toContain(
      'TABLE public precious',
    );
    expect(logs.join('\n')).toContain(file);
    expect(await databaseExists(state.database)).toBe(false);
    for (const role of [state.owner, `${state.loginBase}_1`, `${state.loginBase}_2`])
      expect(await roleExists(role)).toBe(false);
    await driver.deprovision({ ...deprovisionRequest(app, 'orders.db', state), dumpDir: dir }, live());
    // Deprovisioning without state (a crash before it was recorded) finds the same names.
    const again = await driver.provision(request(app, 'orders.db'), live());
    await driver.deprovision({ ...deprovisionRequest(app, 'orders.db', undefined), dumpDir: dir }, live());
    expect(await databaseExists((again.state as PostgresState).database)).toBe(false);
  });

  it('works with an admin role that has only CREATEDB and CREATEROLE', async () => {
    const app = unique('lim');
    const adminRole = `paved_test_admin_${randomBytes(4).toString('hex')}`;
    await admin((client) => client.query(`CREATE ROLE ${adminRole} LOGIN CREATEDB CREATEROLE`));
    const inputs = { values: { ...INPUTS.values, adminUser: adminRole }, secrets: {} };
    try {
      const result = await driver.provision({ ...request(app, 'orders.db'), inputs }, live());
      await asTenant(result.secrets.uri!, (client) => client.query('CREATE TABLE t (x int)'));
      await driver.deprovision({ ...deprovisionRequest(app, 'orders.db', result.state), inputs }, live());
      expect(await databaseExists((result.state as PostgresState).database)).toBe(false);
    } finally {
      await admin((client) =>
        client.query(`DROP OWNED BY ${adminRole}`).then(() => client.query(`DROP ROLE ${adminRole}`)),
      );
    }
  });

  describe('clear errors', () => {
    it('names the server and the inputs when it cannot connect', async () => {
      const inputs = { values: { host: '127.0.0.1', port: 1 }, secrets: { adminPassword: 'hunter2-canary' } };
      const error = await driver
        .provision({ ...request(unique('e'), 'db'), inputs }, live())
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'DRIVER_FAILED' });
      expect(String((error as Error).message)).toMatch(
        /cannot reach PostgreSQL at 127\.0\.0\.1:1 .*inputs host and port/,
      );
      expect(
        JSON.stringify({ m: (error as Error).message, c: String((error as Error).cause) }),
      ).not.toContain('hunter2-canary');
    });

    it('names the admin user and the inputs to fix when the server refuses it', async () => {
      const inputs = {
        values: { host: '127.0.0.1', adminUser: 'no_such_admin' },
        secrets: { adminPassword: 'hunter2-canary' },
      };
      const error = (await driver
        .provision({ ...request(unique('e'), 'db'), inputs }, live())
        .catch((e: unknown) => e)) as Error;
      expect(error.message).toMatch(/refused admin user "no_such_admin".*adminUser and adminPassword/);
      expect(error.message).not.toContain('hunter2-canary');
    });

    it('names the privilege the admin lacks', async () => {
      const weak = `paved_test_weak_${randomBytes(4).toString('hex')}`;
      await admin((client) => client.query(`CREATE ROLE ${weak} LOGIN`));
      try {
        const inputs = { values: { host: '127.0.0.1', adminUser: weak }, secrets: {} };
        const error = (await driver
          .provision({ ...request(unique('e'), 'db'), inputs }, live())
          .catch((e: unknown) => e)) as Error;
        expect(error.message).toMatch(
          new RegExp(`admin user "${weak}" on PostgreSQL at 127.0.0.1:5432 may not create role`),
        );
        expect(error.message).toContain('CREATEDB and CREATEROLE');
      } finally {
        await admin((client) => client.query(`DROP ROLE ${weak}`));
      }
    });

    it('names the admin database input when it does not exist', async () => {
      const inputs = { values: { host: '127.0.0.1', database: 'no_such_database' }, secrets: {} };
      const error = (await driver
        .provision({ ...request(unique('e'), 'db'), inputs }, live())
        .catch((e: unknown) => e)) as Error;
      expect(error.message).toContain("definition's input database");
    });

    it('refuses an admin password given as a plain value', async () => {
      const inputs = { values: { host: '127.0.0.1', adminPassword: 'hunter2-canary' }, secrets: {} };
      const error = (await driver
        .provision({ ...request(unique('e'), 'db'), inputs }, live())
        .catch((e: unknown) => e)) as Error;
      expect(error).toMatchObject({ code: 'INVALID_INPUT' });
      expect(error.message).toContain('inputs.secrets');
      expect(error.message).not.toContain('hunter2-canary');
    });

    it('completes what a crashed provisioning left half made, without duplicates', async () => {
      const app = unique('half');
      const first = await driver.provision(request(app, 'orders.db'), live());
      const state = first.state as PostgresState;
      try {
        // As if the crash came after the roles and before the database, and nothing was recorded.
        await admin((client) => client.query(`DROP DATABASE ${pg.escapeIdentifier(state.database)}`));
        const retried = await driver.provision(request(app, 'orders.db'), live());
        expect(retried.state).toEqual(first.state);
        await asTenant(retried.secrets.uri!, (client) => client.query('CREATE TABLE t (x int)'));
        const roles = await admin((client) =>
          client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE $1', [
            `${state.owner}%`,
          ]),
        );
        const count = roles.rows[0]?.n;
        expect(count).toBe(2);
      } finally {
        await driver.deprovision(deprovisionRequest(app, 'orders.db', first.state), live());
      }
    });
  });

  describe('hostile identifiers', () => {
    const canaryDb = `paved_canary_${randomBytes(4).toString('hex')}`;
    beforeAll(async () => {
      await admin((client) => client.query(`CREATE DATABASE ${canaryDb}`));
      await admin(
        (client) => client.query('CREATE TABLE canary (v text); INSERT INTO canary VALUES (1)'),
        canaryDb,
      );
    });
    afterAll(async () => {
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${canaryDb} WITH (FORCE)`));
    });
    const canaryIntact = async (): Promise<void> => {
      const rows = await admin((client) => client.query('SELECT count(*)::int AS n FROM canary'), canaryDb);
      expect(rows.rows[0].n).toBe(1);
    };

    // Each row carries this run's token where the row is not hostile, so concurrent runs never share names.
    const run = randomBytes(4).toString('hex');
    const hostile: [string, string, string][] = [
      ["it's", `dev-${run}`, `x"; DROP DATABASE ${canaryDb}; --`],
      [`shop-${run}`, "a'; DROP TABLE canary; --", 'db'],
      ['`tick`', `dev-${run}`, "orders.db'); DROP TABLE canary; --"],
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
          const state = result.state as PostgresState;
          for (const name of [state.database, result.secrets.username!]) {
            expect(name).toMatch(SHARED_NAME_PATTERN);
            expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
          }
          names.add(state.database);
          expect(await databaseExists(state.database)).toBe(true);
          await asTenant(result.secrets.uri!, (client) => client.query('SELECT 1'));
          await canaryIntact();
        } finally {
          const { dependencies: _d, values: _v, network: _n, ...bare } = context;
          await driver.deprovision(
            { resource: resource(id), context: bare, inputs: INPUTS, state: stored, dumpDir },
            live(),
          );
        }
      }
      expect(names.size).toBe(hostile.length);
      await canaryIntact();
    });

    it('refuses stored state whose names Paved did not make', async () => {
      const app = unique('tamper');
      const tampered: PostgresState = {
        version: 1,
        database: `paved_x"; DROP DATABASE ${canaryDb}; --`,
        owner: 'paved_x',
        loginBase: 'paved_x',
        login: { current: 1 },
      };
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
