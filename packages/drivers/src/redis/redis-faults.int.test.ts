/**
 * Faults of the redis driver against the machine's Redis, through a named definition as a
 * deployment meets them: the admin server unreachable, a wrong admin password, an admin without
 * the `@admin` commands, and a crash halfway through provisioning. Each error names the
 * definition, the server and what to do, never a password; a retry then finishes the work, and
 * the server holds one ACL user for the resource.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
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
import { createRedisDriver, type RedisState } from './redis-driver.js';

const CANARY = `admin-canary-${randomBytes(6).toString('hex')}`;
const INPUTS = { values: { host: '127.0.0.1', port: 6379 }, secrets: {} };
const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

let dumpDir = '';
beforeAll(async () => {
  dumpDir = await mkdtemp(join(tmpdir(), 'paved-redis-faults-'));
});
afterAll(async () => {
  await rm(dumpDir, { recursive: true, force: true });
});

const driver = createRedisDriver();
const { deprovisionRequest } = sharedServerRequests('redis', INPUTS, () => dumpDir);

const definition = (name: string, values: Record<string, unknown>, secrets: Record<string, string> = {}) =>
  ({
    name,
    type: 'redis',
    driver,
    inputs: { values: { host: '127.0.0.1', ...values }, secrets },
  }) satisfies FaultDefinition;

async function redis<T>(work: (client: Redis) => Promise<T>, auth?: [string, string]): Promise<T> {
  const client = new Redis({
    host: '127.0.0.1',
    port: 6379,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    if (auth !== undefined) await client.auth(auth[0], auth[1]);
    return await work(client);
  } finally {
    client.disconnect();
  }
}

/** The ACL users whose names start with the app's part of the name. */
async function usersFor(app: string): Promise<string[]> {
  const start = `paved_${app.replace(/-/g, '_')}_`;
  const users = await redis((client) => client.call('ACL', 'USERS') as Promise<string[]>);
  return users.filter((user) => user.startsWith(start)).sort();
}

/** A complete resource: one user, which may write under its prefix. */
async function expectComplete(app: string, made: { state: unknown; secrets: Record<string, string> }) {
  const state = made.state as RedisState;
  expect(await usersFor(app)).toEqual([made.secrets.username]);
  await redis(
    (client) => client.set(`${state.prefix}k`, 'v'),
    [made.secrets.username!, made.secrets.password!],
  );
}

async function cleanUp(app: string, id: string): Promise<void> {
  await driver.deprovision(deprovisionRequest(app, id, undefined), new AbortController().signal);
}

describe('redis driver faults', () => {
  it('an unreachable admin server: names the definition and host:port, hides the password; a retry completes', async () => {
    const app = unique('rdf-down');
    const port = await closedPort();
    const error = await provisionThroughDefinition(
      definition('redis-down', { port }, { adminPassword: CANARY }),
      app,
      'orders.cache',
    ).catch((e: unknown) => e);
    expectClearFailure(error, {
      definition: 'redis-down',
      server: `Redis at 127.0.0.1:${port}`,
      advice: /check the definition's inputs host and port, and that the server runs/,
      secrets: [CANARY],
    });
    try {
      const made = await provisionThroughDefinition(
        definition('redis-down', { port: 6379 }),
        app,
        'orders.cache',
      );
      await expectComplete(app, made);
    } finally {
      await cleanUp(app, 'orders.cache');
    }
  });

  it('a wrong admin password, then an admin without @admin: each named; the retry with a real admin completes', async () => {
    const app = unique('rdf-auth');
    const adminUser = `paved_test_admin_${randomBytes(4).toString('hex')}`;
    const password = `right-${randomBytes(8).toString('hex')}`;
    await redis((client) =>
      client.call('ACL', 'SETUSER', adminUser, 'on', `>${password}`, '+@all', '-@admin', '~*', '&*'),
    );
    try {
      const wrong = await provisionThroughDefinition(
        definition('redis-auth', { adminUser }, { adminPassword: CANARY }),
        app,
        'orders.cache',
      ).catch((e: unknown) => e);
      expectClearFailure(wrong, {
        definition: 'redis-auth',
        server: `Redis at 127.0.0.1:6379 refused admin user "${adminUser}"`,
        advice: /check the definition's inputs adminUser and adminPassword/,
        secrets: [CANARY],
      });

      const denied = await provisionThroughDefinition(
        definition('redis-auth', { adminUser }, { adminPassword: password }),
        app,
        'orders.cache',
      ).catch((e: unknown) => e);
      expectClearFailure(denied, {
        definition: 'redis-auth',
        server: `admin user "${adminUser}" on Redis at 127.0.0.1:6379 may not create ACL user`,
        advice: /ACL SETUSER <user> \+@admin/,
        secrets: [password],
      });
      expect(await usersFor(app)).toEqual([]);

      await redis((client) => client.call('ACL', 'SETUSER', adminUser, '+@admin'));
      const made = await provisionThroughDefinition(
        definition('redis-auth', { adminUser }, { adminPassword: password }),
        app,
        'orders.cache',
      );
      await expectComplete(app, made);
    } finally {
      await cleanUp(app, 'orders.cache');
      await redis((client) => client.call('ACL', 'DELUSER', adminUser));
    }
  });

  describe('a crash halfway through provisioning', () => {
    let proxy: CuttingProxy;
    beforeAll(async () => {
      proxy = await startCuttingProxy(6379);
    });
    afterAll(async () => {
      await proxy.close();
    });

    // The driver's steps in order: read the default user, set the resource's user, save the ACL.
    for (const [step, marker, halfUsers] of [
      ['before the user', 'SETUSER', 0],
      ['after the user, before saving the ACL', '\r\nSAVE\r\n', 1],
    ] as const) {
      it(`stopped ${step}: a retry with nothing recorded completes it without duplicates`, async () => {
        const app = unique('rdf-crash');
        const controller = new AbortController();
        proxy.cutAt(marker, () => controller.abort(new Error('the Paved server stopped')));
        try {
          await expect(
            provisionThroughDefinition(
              definition('redis-crash', { port: proxy.port }),
              app,
              'orders.cache',
              controller.signal,
            ),
          ).rejects.toThrow('the Paved server stopped');
          expect(await usersFor(app)).toHaveLength(halfUsers);

          const made = await provisionThroughDefinition(
            definition('redis-crash', { port: proxy.port }),
            app,
            'orders.cache',
          );
          await expectComplete(app, made);
        } finally {
          await cleanUp(app, 'orders.cache');
        }
      });
    }

    it('the connection lost halfway (the server crashed): a clear error, and the retry completes', async () => {
      const app = unique('rdf-lost');
      proxy.cutAt('SETUSER');
      try {
        const error = await provisionThroughDefinition(
          definition('redis-lost', { port: proxy.port }),
          app,
          'orders.cache',
        ).catch((e: unknown) => e);
        expectClearFailure(error, {
          definition: 'redis-lost',
          server: `Redis at 127.0.0.1:${proxy.port}`,
          advice: /check the definition's inputs host and port, and that the server runs/,
          secrets: [],
        });
        const made = await provisionThroughDefinition(
          definition('redis-lost', { port: proxy.port }),
          app,
          'orders.cache',
        );
        await expectComplete(app, made);
      } finally {
        await cleanUp(app, 'orders.cache');
      }
    });
  });
});
