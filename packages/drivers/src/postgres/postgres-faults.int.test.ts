/**
 * Faults of the postgres driver, through a named definition as a deployment meets them: the admin
 * server unreachable, a wrong admin password, an admin without the privilege, and a crash halfway
 * through provisioning. Each error names the definition, the server and what to do, never a
 * password; a retry then finishes the work, and the server holds one database and one set of
 * roles. The machine's PostgreSQL trusts 127.0.0.1, so the wrong password is tried on a throwaway
 * cluster of its own with SCRAM authentication.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
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
import { createPostgresDriver, type PostgresState } from './postgres-driver.js';

const CANARY = `admin-canary-${randomBytes(6).toString('hex')}`;
const INPUTS = { values: { host: '127.0.0.1', port: 5432, adminUser: 'postgres' }, secrets: {} };
const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

let dumpDir = '';
beforeAll(async () => {
  dumpDir = await mkdtemp(join(tmpdir(), 'paved-pg-faults-'));
});
afterAll(async () => {
  await rm(dumpDir, { recursive: true, force: true });
});

const driver = createPostgresDriver();
const { deprovisionRequest } = sharedServerRequests('postgres', INPUTS, () => dumpDir);

const definition = (name: string, values: Record<string, unknown>, secrets: Record<string, string> = {}) =>
  ({
    name,
    type: 'postgres',
    driver,
    inputs: { values: { host: '127.0.0.1', ...values }, secrets },
  }) satisfies FaultDefinition;

async function onServer<T>(
  port: number,
  work: (client: pg.Client) => Promise<T>,
  password?: string,
): Promise<T> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    ...(password === undefined ? {} : { password }),
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The databases and roles on the server whose names start with the app's part of the name. */
async function madeFor(
  app: string,
  port = 5432,
  password?: string,
): Promise<{ databases: string[]; roles: string[] }> {
  const start = `paved_${app.replace(/-/g, '_')}_`;
  return onServer(
    port,
    async (client) => {
      const databases = await client.query<{ name: string }>(
        'SELECT datname AS name FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1',
        [start],
      );
      const roles = await client.query<{ name: string }>(
        'SELECT rolname AS name FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1',
        [start],
      );
      return { databases: databases.rows.map((r) => r.name), roles: roles.rows.map((r) => r.name) };
    },
    password,
  );
}

/** What a complete resource is on the server: its database, its owner and one login. */
function expectComplete(made: { databases: string[]; roles: string[] }, state: PostgresState): void {
  expect(made.databases).toEqual([state.database]);
  expect(made.roles.sort()).toEqual([state.owner, `${state.loginBase}_1`].sort());
}

async function cleanUp(app: string, id: string, inputs = INPUTS): Promise<void> {
  await driver.deprovision(
    { ...deprovisionRequest(app, id, undefined), inputs },
    new AbortController().signal,
  );
}

describe('postgres driver faults', () => {
  it('an unreachable admin server: names the definition and host:port, hides the password; a retry completes', async () => {
    const app = unique('pgf-down');
    const port = await closedPort();
    const error = await provisionThroughDefinition(
      definition('pg-down', { port }, { adminPassword: CANARY }),
      app,
      'orders.db',
    ).catch((e: unknown) => e);
    expectClearFailure(error, {
      definition: 'pg-down',
      server: `PostgreSQL at 127.0.0.1:${port}`,
      advice: /check the definition's inputs host and port, and that the server runs/,
      secrets: [CANARY],
    });
    try {
      // The definition fixed (or the server back): the retry makes everything, once.
      const made = await provisionThroughDefinition(definition('pg-down', { port: 5432 }), app, 'orders.db');
      expectComplete(await madeFor(app), made.state as PostgresState);
    } finally {
      await cleanUp(app, 'orders.db');
    }
  });

  describe('a wrong admin password (a throwaway cluster with SCRAM authentication)', () => {
    const password = `right-${randomBytes(8).toString('hex')}`;
    let home = '';
    let port = 0;
    const pgBin = (tool: string): string =>
      join(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim(), tool);
    // PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
    const root = process.getuid?.() === 0;
    const asPostgres = (tool: string, args: string[]): string =>
      root
        ? execFileSync('runuser', ['-u', 'postgres', '--', pgBin(tool), ...args], {
            encoding: 'utf8',
            timeout: 60_000,
          })
        : execFileSync(pgBin(tool), args, { encoding: 'utf8', timeout: 60_000 });

    beforeAll(async () => {
      home = await mkdtemp(join(tmpdir(), 'paved-pg-scram-'));
      await chmod(home, 0o700);
      await writeFile(join(home, 'pw'), password, { mode: 0o600 });
      if (root) {
        const owner = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
        await chown(home, owner, -1);
        await chown(join(home, 'pw'), owner, -1);
      }
      asPostgres('initdb', [
        '-D',
        join(home, 'data'),
        '-U',
        'postgres',
        `--pwfile=${join(home, 'pw')}`,
        '--auth-host=scram-sha-256',
        '--auth-local=trust',
        '-N',
      ]);
      port = await closedPort();
      asPostgres('pg_ctl', [
        '-D',
        join(home, 'data'),
        '-o',
        `-p ${port} -k ${home} -c listen_addresses=127.0.0.1`,
        // Its output to a file: a server holding this process's pipe open would never let it return.
        '-l',
        join(home, 'log'),
        '-w',
        'start',
      ]);
    }, 60_000);
    afterAll(async () => {
      if (home === '') return;
      try {
        asPostgres('pg_ctl', ['-D', join(home, 'data'), '-m', 'immediate', 'stop']);
      } catch {
        // not started
      }
      await rm(home, { recursive: true, force: true });
    });

    it('names the definition, the server and the inputs to fix, never the password; the right one works', async () => {
      const app = unique('pgf-pw');
      const error = await provisionThroughDefinition(
        definition('pg-scram', { port }, { adminPassword: CANARY }),
        app,
        'orders.db',
      ).catch((e: unknown) => e);
      expectClearFailure(error, {
        definition: 'pg-scram',
        server: `PostgreSQL at 127.0.0.1:${port} refused admin user "postgres"`,
        advice: /check the definition's inputs adminUser and adminPassword/,
        secrets: [CANARY],
      });
      expect((error as Error).message).toContain('password authentication failed');

      const made = await provisionThroughDefinition(
        definition('pg-scram', { port }, { adminPassword: password }),
        app,
        'orders.db',
      );
      expectComplete(await madeFor(app, port, password), made.state as PostgresState);
      // The tenant logs in with its own password on a server that checks it.
      const tenant = new pg.Client({ connectionString: made.secrets.uri });
      await tenant.connect();
      await tenant.query('CREATE TABLE t (x int)');
      await tenant.end();
    });
  });

  it('an admin without CREATEDB: names the privilege; granted, the retry finishes what was half made', async () => {
    const app = unique('pgf-priv');
    const weak = `paved_test_nocreatedb_${randomBytes(4).toString('hex')}`;
    await onServer(5432, (client) => client.query(`CREATE ROLE ${weak} LOGIN CREATEROLE PASSWORD NULL`));
    const weakDefinition = definition('pg-weak', { port: 5432, adminUser: weak }, { adminPassword: CANARY });
    const inputs = { values: { host: '127.0.0.1', port: 5432, adminUser: weak }, secrets: {} };
    try {
      const error = await provisionThroughDefinition(weakDefinition, app, 'orders.db').catch(
        (e: unknown) => e,
      );
      expectClearFailure(error, {
        definition: 'pg-weak',
        server: `admin user "${weak}" on PostgreSQL at 127.0.0.1:5432 may not create database`,
        advice: /give the admin role CREATEDB and CREATEROLE/,
        secrets: [CANARY],
      });
      // The roles came before the database: half made.
      const half = await madeFor(app);
      expect(half.databases).toEqual([]);
      expect(half.roles).toHaveLength(2);

      await onServer(5432, (client) => client.query(`ALTER ROLE ${weak} CREATEDB`));
      const made = await provisionThroughDefinition(weakDefinition, app, 'orders.db');
      expectComplete(await madeFor(app), made.state as PostgresState);
      expect(half.roles.sort()).toEqual((await madeFor(app)).roles.sort());
    } finally {
      await cleanUp(app, 'orders.db', inputs);
      await onServer(5432, async (client) => {
        await client.query(`DROP OWNED BY ${weak}`);
        await client.query(`DROP ROLE ${weak}`);
      });
    }
  });

  describe('a crash halfway through provisioning', () => {
    let proxy: CuttingProxy;
    beforeAll(async () => {
      proxy = await startCuttingProxy(5432);
    });
    afterAll(async () => {
      await proxy.close();
    });

    // Each step the driver takes, in its order: the owner role, the login role, the database.
    for (const [step, marker, halfDatabases, halfRoles] of [
      ['before the login role', 'LOGIN NOCREATEDB', 0, 1],
      ['before the database', 'CREATE DATABASE', 0, 2],
      ['after the database, before locking it down', 'REVOKE ALL ON DATABASE', 1, 2],
    ] as const) {
      it(`stopped ${step}: a retry with nothing recorded completes it without duplicates`, async () => {
        const app = unique('pgf-crash');
        const controller = new AbortController();
        proxy.cutAt(marker, () => controller.abort(new Error('the Paved server stopped')));
        const cuts = proxy.cuts;
        try {
          await expect(
            provisionThroughDefinition(
              definition('pg-crash', { port: proxy.port }),
              app,
              'orders.db',
              controller.signal,
            ),
          ).rejects.toThrow('the Paved server stopped');
          expect(proxy.cuts).toBe(cuts + 1);
          const half = await madeFor(app);
          expect([half.databases.length, half.roles.length]).toEqual([halfDatabases, halfRoles]);

          const made = await provisionThroughDefinition(
            definition('pg-crash', { port: proxy.port }),
            app,
            'orders.db',
          );
          expectComplete(await madeFor(app), made.state as PostgresState);
          const tenant = new pg.Client({
            connectionString: made.secrets.uri!.replace(`:${proxy.port}/`, ':5432/'),
          });
          await tenant.connect();
          await tenant.query('CREATE TABLE t (x int)');
          await tenant.end();
        } finally {
          await cleanUp(app, 'orders.db');
        }
      });
    }

    it('the connection lost halfway (the server crashed): a clear error, and the retry completes', async () => {
      const app = unique('pgf-lost');
      proxy.cutAt('CREATE DATABASE');
      try {
        const error = await provisionThroughDefinition(
          definition('pg-lost', { port: proxy.port }, { adminPassword: CANARY }),
          app,
          'orders.db',
        ).catch((e: unknown) => e);
        expectClearFailure(error, {
          definition: 'pg-lost',
          server: `PostgreSQL at 127.0.0.1:${proxy.port}`,
          advice: /check the definition's inputs host and port, and that the server runs/,
          secrets: [CANARY],
        });
        const made = await provisionThroughDefinition(
          definition('pg-lost', { port: proxy.port }),
          app,
          'orders.db',
        );
        expectComplete(await madeFor(app), made.state as PostgresState);
      } finally {
        await cleanUp(app, 'orders.db');
      }
    });
  });
});
