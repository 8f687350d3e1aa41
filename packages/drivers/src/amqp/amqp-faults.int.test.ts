/**
 * Faults of the amqp driver against the machine's RabbitMQ management API, through a named
 * definition as a deployment meets them: the API unreachable, a wrong admin password, an admin
 * without the administrator tag, a crash halfway through provisioning, and the HTTP 500 RabbitMQ
 * answers to closing a connection its lagging statistics still list. Each error names the
 * definition, the server and what to do, never a password; a retry then finishes the work, and
 * the server holds one vhost and one user for the resource.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
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
import { createAmqpDriver, type AmqpState } from './amqp-driver.js';

const API = 'http://127.0.0.1:15672/';
const CANARY = `admin-canary-${randomBytes(6).toString('hex')}`;
const INPUTS = {
  values: { host: '127.0.0.1', port: 5672, adminUser: 'guest' },
  secrets: { adminPassword: 'guest' },
};
const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

let dumpDir = '';
beforeAll(async () => {
  dumpDir = await mkdtemp(join(tmpdir(), 'paved-amqp-faults-'));
});
afterAll(async () => {
  await rm(dumpDir, { recursive: true, force: true });
});

const driver = createAmqpDriver();
const { deprovisionRequest } = sharedServerRequests('amqp', INPUTS, () => dumpDir);

const definition = (
  name: string,
  values: Record<string, unknown>,
  secrets: Record<string, string> = { adminPassword: 'guest' },
) =>
  ({
    name,
    type: 'amqp',
    driver,
    inputs: { values: { host: '127.0.0.1', ...values }, secrets },
  }) satisfies FaultDefinition;

async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(new URL(path, API), {
    method,
    headers: {
      authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  const text = await response.text();
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/** The vhosts and users whose names start with the app's part of the name. */
async function madeFor(app: string): Promise<{ vhosts: string[]; users: string[] }> {
  const start = `paved_${app.replace(/-/g, '_')}_`;
  const names = (items: unknown): string[] =>
    (items as { name: string }[])
      .map((item) => item.name)
      .filter((name) => name.startsWith(start))
      .sort();
  return { vhosts: names(await api('GET', 'api/vhosts')), users: names(await api('GET', 'api/users')) };
}

/** An AMQP connection with a resource's credentials to its vhost. */
async function connectAs(made: { state: unknown; secrets: Record<string, string> }) {
  const connection = await amqp.connect({
    protocol: 'amqp',
    hostname: '127.0.0.1',
    port: 5672,
    username: made.secrets.username!,
    password: made.secrets.password!,
    vhost: (made.state as AmqpState).vhost,
  });
  connection.on('error', () => undefined);
  return connection;
}

/** A complete resource: its vhost and one user, which may use it. */
async function expectComplete(app: string, made: { state: unknown; secrets: Record<string, string> }) {
  const state = made.state as AmqpState;
  expect(await madeFor(app)).toEqual({ vhosts: [state.vhost], users: [made.secrets.username] });
  const connection = await connectAs(made);
  const channel = await connection.createChannel();
  await channel.assertQueue('orders');
  await connection.close();
}

/**
 * The management API behind a proxy that plays RabbitMQ's lagging statistics: once a user is
 * deleted (which closes its connections), the connection listing still shows one of them, and
 * closing that one is answered with HTTP 500 `failures` times, then 404 (gone). Everything else
 * goes to the real API unchanged.
 */
async function startStaleConnectionsApi(failures: number) {
  const staleName = '127.0.0.1:1 -> 127.0.0.1:5672';
  let deletedUser: string | undefined;
  let failed = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = request.url ?? '/';
      if (request.method === 'DELETE' && url === `/api/connections/${encodeURIComponent(staleName)}`) {
        failed += 1;
        response.writeHead(failed <= failures ? 500 : 404).end();
        return;
      }
      if (request.method === 'DELETE' && url.startsWith('/api/users/')) {
        deletedUser = decodeURIComponent(url.slice('/api/users/'.length));
      }
      const body = Buffer.concat(chunks);
      void fetch(new URL(url, API), {
        method: request.method ?? 'GET',
        headers: Object.fromEntries(
          Object.entries(request.headers).filter(
            (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host',
          ),
        ),
        ...(body.length === 0 ? {} : { body }),
      }).then(
        async (answer) => {
          let text = Buffer.from(await answer.arrayBuffer());
          if (request.method === 'GET' && url.startsWith('/api/connections?') && deletedUser !== undefined) {
            const listed = JSON.parse(text.toString()) as unknown[];
            text = Buffer.from(JSON.stringify([...listed, { name: staleName, user: deletedUser }]));
          }
          response.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
        },
        () => response.writeHead(502).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    /** How often closing the stale connection was asked. */
    asked: () => failed,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function cleanUp(app: string, id: string): Promise<void> {
  await driver.deprovision(deprovisionRequest(app, id, undefined), new AbortController().signal);
}

describe('amqp driver faults', () => {
  it('an unreachable management API: names the definition and the address, hides the password; a retry completes', async () => {
    const app = unique('mqf-down');
    const port = await closedPort();
    const error = await provisionThroughDefinition(
      definition('amqp-down', { managementUrl: `http://127.0.0.1:${port}` }, { adminPassword: CANARY }),
      app,
      'orders.queue',
    ).catch((e: unknown) => e);
    expectClearFailure(error, {
      definition: 'amqp-down',
      server: `RabbitMQ's management API at http://127.0.0.1:${port}`,
      advice: /check the definition's inputs host and managementUrl, and that RabbitMQ runs/,
      secrets: [CANARY],
    });
    try {
      const made = await provisionThroughDefinition(definition('amqp-down', {}), app, 'orders.queue');
      await expectComplete(app, made);
    } finally {
      await cleanUp(app, 'orders.queue');
    }
  });

  it('a wrong admin password, then an admin without the administrator tag: each named; the retry completes', async () => {
    const app = unique('mqf-auth');
    const adminUser = `paved_test_admin_${randomBytes(4).toString('hex')}`;
    const password = `right-${randomBytes(8).toString('hex')}`;
    await api('PUT', `api/users/${adminUser}`, { password, tags: 'management' });
    try {
      const wrong = await provisionThroughDefinition(
        definition('amqp-auth', { adminUser }, { adminPassword: CANARY }),
        app,
        'orders.queue',
      ).catch((e: unknown) => e);
      expectClearFailure(wrong, {
        definition: 'amqp-auth',
        server: `RabbitMQ's management API at http://127.0.0.1:15672 refused admin user "${adminUser}"`,
        advice: /check the definition's inputs adminUser and adminPassword/,
        secrets: [CANARY],
      });

      const denied = await provisionThroughDefinition(
        definition('amqp-auth', { adminUser }, { adminPassword: password }),
        app,
        'orders.queue',
      ).catch((e: unknown) => e);
      expectClearFailure(denied, {
        definition: 'amqp-auth',
        server: `admin user "${adminUser}" on RabbitMQ's management API at http://127.0.0.1:15672 may not`,
        advice: /administrator tag/,
        secrets: [password],
      });
      expect(await madeFor(app)).toEqual({ vhosts: [], users: [] });

      await api('PUT', `api/users/${adminUser}`, { password, tags: 'administrator' });
      const made = await provisionThroughDefinition(
        definition('amqp-auth', { adminUser }, { adminPassword: password }),
        app,
        'orders.queue',
      );
      // An administrator may still lack permissions on the vhost it creates: the driver grants them.
      await expectComplete(app, made);
    } finally {
      await cleanUp(app, 'orders.queue');
      await api('DELETE', `api/users/${adminUser}`);
    }
  });

  describe('a crash halfway through provisioning', () => {
    let proxy: CuttingProxy;
    beforeAll(async () => {
      proxy = await startCuttingProxy(15672);
    });
    afterAll(async () => {
      await proxy.close();
    });
    const through = (name: string) => definition(name, { managementUrl: `http://127.0.0.1:${proxy.port}` });

    // The driver's requests in order: the vhost, the user, its permissions.
    for (const [step, marker, half] of [
      ['after the vhost, before the user', 'PUT /api/users/', [1, 0]],
      ['after the user, before its permissions', 'PUT /api/permissions/', [1, 1]],
    ] as const) {
      it(`stopped ${step}: a retry with nothing recorded completes it without duplicates`, async () => {
        const app = unique('mqf-crash');
        const controller = new AbortController();
        proxy.cutAt(marker, () => controller.abort(new Error('the Paved server stopped')));
        try {
          await expect(
            provisionThroughDefinition(through('amqp-crash'), app, 'orders.queue', controller.signal),
          ).rejects.toThrow('the Paved server stopped');
          const made = await madeFor(app);
          expect([made.vhosts.length, made.users.length]).toEqual(half);

          await expectComplete(
            app,
            await provisionThroughDefinition(through('amqp-crash'), app, 'orders.queue'),
          );
        } finally {
          await cleanUp(app, 'orders.queue');
        }
      });
    }

    it('the connection lost halfway (the server crashed): a clear error, and the retry completes', async () => {
      const app = unique('mqf-lost');
      proxy.cutAt('PUT /api/users/');
      try {
        const error = await provisionThroughDefinition(through('amqp-lost'), app, 'orders.queue').catch(
          (e: unknown) => e,
        );
        expectClearFailure(error, {
          definition: 'amqp-lost',
          server: `RabbitMQ's management API at http://127.0.0.1:${proxy.port}`,
          advice: /check the definition's inputs host and managementUrl|the next deploy retries/,
          secrets: [],
        });
        await expectComplete(
          app,
          await provisionThroughDefinition(through('amqp-lost'), app, 'orders.queue'),
        );
      } finally {
        await cleanUp(app, 'orders.queue');
      }
    });
  });

  it('closing a connection answered with HTTP 500 (listed by lagging statistics after it closed): revoking asks again and completes', async () => {
    const app = unique('stale');
    const stale = await startStaleConnectionsApi(2);
    const via = sharedServerRequests(
      'amqp',
      { values: { ...INPUTS.values, managementUrl: stale.url }, secrets: INPUTS.secrets },
      () => dumpDir,
    );
    const signal = new AbortController().signal;
    const first = await driver.provision(via.request(app, 'events'), signal);
    const old = await connectAs(first);
    const closed = new Promise<void>((resolve) => old.once('close', () => resolve()));
    try {
      const rotated = await driver.rotateCredentials!(
        via.credentialsRequest(app, 'events', first.state, first.secrets),
        signal,
      );
      const revoked = await driver.revokePreviousCredentials!(
        via.credentialsRequest(app, 'events', rotated.state, rotated.secrets),
        signal,
      );

      // Two answers of 500, then the 404 that says it is gone.
      expect(stale.asked()).toBe(3);
      expect((revoked.state as AmqpState).login).toEqual({ current: 2 });
      await closed;
      expect((await madeFor(app)).users).toEqual([rotated.secrets.username]);
    } finally {
      await stale.close();
      await cleanUp(app, 'events');
    }
  });
});
