/**
 * The amqp driver against the RabbitMQ on this machine (AMQP on 127.0.0.1:5672, the management
 * API on 15672 — scripts/setup-test-env.sh enables it — guest/guest as admin). RabbitMQ checks
 * passwords, so every credential is proven by connecting over AMQP. Every test uses an app name of
 * its own and removes what it made.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_NAME_PATTERN } from '../support/shared-names.js';
import { conformanceContext, describeResourceDriver } from '../testing/describe-resource-driver.js';
import { startMisbehavingServer } from '../testing/misbehaving-server.js';
import { sharedServerRequests } from '../testing/shared-server-requests.js';
import { createAmqpDriver, rabbitPasswordHash, type AmqpState } from './amqp-driver.js';

const API = 'http://127.0.0.1:15672/';
const INPUTS = {
  values: { host: '127.0.0.1', port: 5672, adminUser: 'guest' },
  secrets: { adminPassword: 'guest' },
};
const live = (): AbortSignal => new AbortController().signal;
const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

let dumpDir = '';
beforeAll(async () => {
  dumpDir = await mkdtemp(join(tmpdir(), 'paved-amqp-dumps-'));
});
afterAll(async () => {
  await rm(dumpDir, { recursive: true, force: true });
});

async function api(
  method: string,
  path: string,
  body?: unknown,
  auth = 'guest:guest',
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(path, API), {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(auth).toString('base64')}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

async function connect(secrets: Record<string, string>, vhost: string): Promise<amqp.ChannelModel> {
  const connection = await amqp.connect({
    protocol: 'amqp',
    hostname: '127.0.0.1',
    port: 5672,
    username: secrets.username!,
    password: secrets.password!,
    vhost,
  });
  connection.on('error', () => undefined);
  return connection;
}

async function tenant<T>(
  secrets: Record<string, string>,
  vhost: string,
  work: (channel: amqp.Channel) => Promise<T>,
): Promise<T> {
  const connection = await connect(secrets, vhost);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return await work(channel);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

async function roundTrip(secrets: Record<string, string>, vhost: string, text: string): Promise<void> {
  await tenant(secrets, vhost, async (channel) => {
    const { queue } = await channel.assertQueue('', { exclusive: true });
    channel.sendToQueue(queue, Buffer.from(text));
    let message: amqp.GetMessage | false = false;
    for (let i = 0; i < 50 && message === false; i += 1) {
      message = await channel.get(queue, { noAck: true });
      if (message === false) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(message === false ? undefined : message.content.toString()).toBe(text);
  });
}

/** Publishes one persistent message to a durable queue and waits until the server has it. */
async function confirmed(
  secrets: Record<string, string>,
  vhost: string,
  queue: string,
  text: string,
): Promise<void> {
  const connection = await connect(secrets, vhost);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    channel.sendToQueue(queue, Buffer.from(text), { persistent: true });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

const { resource, request, bare, deprovisionRequest, credentialsRequest } = sharedServerRequests(
  'amqp',
  INPUTS,
  () => dumpDir,
);

/** A port nothing listens on (fetch refuses some low ports by itself, so not 1). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const silent = await startMisbehavingServer('silent');
const garbage = await startMisbehavingServer('garbage');
afterAll(async () => {
  await silent.close();
  await garbage.close();
});
const at = (port: number, more: Record<string, unknown> = {}) => ({
  values: { host: '127.0.0.1', managementUrl: `http://127.0.0.1:${port}`, ...more },
  secrets: { adminPassword: 'guest' },
});

const conformanceApp = unique('ct');
describeResourceDriver('amqp', () => createAmqpDriver({ dumpDir }), {
  inputs: INPUTS,
  params: {},
  context: { app: conformanceApp },
  malformed: {
    values: { host: '127.0.0.1', managementUrl: 'ftp://127.0.0.1' },
    secrets: { adminPassword: 'guest' },
  },
  malformedResult: { inputs: at(garbage.port) },
  timeout: { inputs: at(silent.port, { connectTimeoutSeconds: 1, timeoutSeconds: 1 }), withinMs: 5_000 },
  cancel: { inputs: at(silent.port, { connectTimeoutSeconds: 60, timeoutSeconds: 60 }) },
  check: async (outputs, secrets) => {
    expect(outputs).toMatchObject({ host: '127.0.0.1', port: 5672 });
    await roundTrip(secrets, String(outputs.vhost), 'hello');
  },
});
afterAll(async () => {
  await createAmqpDriver({ dumpDir }).deprovision(
    deprovisionRequest(conformanceApp, 'orders.amqp', undefined),
    live(),
  );
});

describe('amqp driver', () => {
  const driver = createAmqpDriver({ dumpDir });

  it('hashes passwords the way RabbitMQ checks them', async () => {
    // A user made with our hash logs in with the password over AMQP.
    const user = `paved_test_hash_${randomBytes(4).toString('hex')}`;
    const vhost = `paved_test_hash_${randomBytes(4).toString('hex')}`;
    await api('PUT', `api/users/${user}`, {
      password_hash: rabbitPasswordHash('pencil'),
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: '',
    });
    await api('PUT', `api/vhosts/${vhost}`, {});
    await api('PUT', `api/permissions/${vhost}/${user}`, { configure: '.*', write: '.*', read: '.*' });
    try {
      await roundTrip({ username: user, password: 'pencil' }, vhost, 'hashed');
      await expect(connect({ username: user, password: 'pencil2' }, vhost)).rejects.toThrow(/ACCESS_REFUSED/);
    } finally {
      await api('DELETE', `api/vhosts/${vhost}`);
      await api('DELETE', `api/users/${user}`);
    }
  });

  it('provisions a vhost and a user, and again to the same outputs and password', async () => {
    const app = unique('mq');
    const first = await driver.provision(request(app, 'events'), live());
    const state = first.state as AmqpState;
    try {
      expect(state.vhost).toMatch(/^paved_mq_[0-9a-f]{8}_dev_events_[a-z2-7]{10}$/);
      expect(first.outputs).toEqual({ host: '127.0.0.1', port: 5672, vhost: state.vhost });
      expect(first.secrets).toEqual({
        username: `${state.loginBase}_1`,
        password: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      });
      await confirmed(first.secrets, state.vhost, 'kept', 'still here');
      const again = await driver.provision(
        request(app, 'events', { previousState: first.state, previousSecrets: first.secrets }),
        live(),
      );
      expect(again).toEqual(first);
      const reset = await driver.provision(request(app, 'events', { previousState: first.state }), live());
      expect(reset.secrets.password).not.toBe(first.secrets.password);
      await expect(connect(first.secrets, state.vhost)).rejects.toThrow(/ACCESS_REFUSED/);
      await tenant(reset.secrets, state.vhost, async (channel) => {
        const message = await channel.get('kept', { noAck: true });
        expect(message === false ? undefined : message.content.toString()).toBe('still here');
      });
    } finally {
      await driver.deprovision(deprovisionRequest(app, 'events', first.state), live());
    }
  });

  it("keeps each resource in its own vhost, and away from the server's administration", async () => {
    const app = unique('iso');
    const a = await driver.provision(request(app, 'a'), live());
    const b = await driver.provision(request(app, 'b'), live());
    const vhostA = (a.state as AmqpState).vhost;
    const vhostB = (b.state as AmqpState).vhost;
    try {
      await confirmed(b.secrets, vhostB, 'secret', 'b-only');
      // The same credentials that work on A's vhost are turned away from B's and from the default one
      // (amqplib does not pass on RabbitMQ's reason, "access to vhost refused").
      await roundTrip(a.secrets, vhostA, 'mine');
      await expect(connect(a.secrets, vhostB)).rejects.toThrow(/ConnectionClose/);
      await expect(connect(a.secrets, '/')).rejects.toThrow(/ConnectionClose/);
      const onB = (await api('GET', `api/vhosts/${vhostB}/permissions`)).body as { user: string }[];
      expect(onB.map((permission) => permission.user)).not.toContain(a.secrets.username);
      // No management access: the API refuses the resource's credentials.
      const asTenant = await api(
        'GET',
        'api/vhosts',
        undefined,
        `${a.secrets.username}:${a.secrets.password}`,
      );
      expect(asTenant.status).toBe(401);
      const permissions = await api('GET', `api/users/${a.secrets.username}/permissions`);
      expect(permissions.body).toEqual([
        expect.objectContaining({ vhost: vhostA, configure: '.*', write: '.*', read: '.*' }),
      ]);
      await tenant(b.secrets, vhostB, async (channel) => {
        const message = await channel.get('secret', { noAck: true });
        expect(message === false ? undefined : message.content.toString()).toBe('b-only');
      });
    } finally {
      await driver.deprovision(deprovisionRequest(app, 'a', a.state), live());
      await driver.deprovision(deprovisionRequest(app, 'b', b.state), live());
    }
  });

  it('rotates credentials in two steps: both users work until the old one is revoked', async () => {
    const app = unique('rot');
    const first = await driver.provision(request(app, 'events'), live());
    const vhost = (first.state as AmqpState).vhost;
    let state = first.state;
    const oldConnection = await connect(first.secrets, vhost);
    const closed = new Promise<void>((resolve) => oldConnection.once('close', () => resolve()));
    try {
      const rotated = await driver.rotateCredentials!(
        credentialsRequest(app, 'events', first.state, first.secrets),
        live(),
      );
      state = rotated.state;
      expect(rotated.secrets.username).not.toBe(first.secrets.username);
      await roundTrip(rotated.secrets, vhost, 'new');
      await roundTrip(first.secrets, vhost, 'old');
      await expect(
        driver.rotateCredentials!(credentialsRequest(app, 'events', rotated.state, rotated.secrets), live()),
      ).rejects.toMatchObject({ code: 'CONFLICT' });
      const redeployed = await driver.provision(
        request(app, 'events', { previousState: rotated.state, previousSecrets: rotated.secrets }),
        live(),
      );
      expect(redeployed).toEqual(rotated);
      // The management API lists a new connection a few seconds late; wait until it does.
      for (let i = 0; i < 100; i += 1) {
        const listed = await api('GET', 'api/connections?columns=user');
        if ((listed.body as { user: string }[]).some((c) => c.user === first.secrets.username)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const revoked = await driver.revokePreviousCredentials!(
        credentialsRequest(app, 'events', rotated.state, rotated.secrets),
        live(),
      );
      state = revoked.state;
      expect((revoked.state as AmqpState).login).toEqual({ current: 2 });
      await closed;
      await expect(connect(first.secrets, vhost)).rejects.toThrow(/ACCESS_REFUSED/);
      await roundTrip(revoked.secrets, vhost, 'still works');
    } finally {
      await oldConnection.close().catch(() => undefined);
      await driver.deprovision(deprovisionRequest(app, 'events', state), live());
    }
  });

  it('writes the definitions, then deletes the vhost with its queues and the users; twice is fine', async () => {
    const app = unique('dump');
    const first = await driver.provision(request(app, 'events'), live());
    const state = first.state as AmqpState;
    await tenant(first.secrets, state.vhost, (channel) =>
      channel.assertQueue('orders-to-ship', { durable: true }),
    );
    const dir = join(dumpDir, app);
    const logs: string[] = [];
    await driver.deprovision(
      { ...deprovisionRequest(app, 'events', state), dumpDir: dir, log: (l) => logs.push(l) },
      live(),
    );
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    const definitions = JSON.parse(await readFile(join(dir, files[0]!), 'utf8'));
    expect(definitions.queues.map((queue: { name: string }) => queue.name)).toContain('orders-to-ship');
    expect(JSON.stringify(definitions)).not.toContain(first.secrets.password);
    expect(logs.join('\n')).toContain(join(dir, files[0]!));
    expect((await api('GET', `api/vhosts/${state.vhost}`)).status).toBe(404);
    expect((await api('GET', `api/users/${first.secrets.username}`)).status).toBe(404);
    await driver.deprovision({ ...deprovisionRequest(app, 'events', state), dumpDir: dir }, live());
    expect(await readdir(dir)).toHaveLength(1);
  });

  describe('clear errors', () => {
    it('names the server and the plugin when the management API does not answer', async () => {
      const closed = await closedPort();
      const inputs = {
        values: { host: '127.0.0.1', managementUrl: `http://127.0.0.1:${closed}` },
        secrets: { adminPassword: 'hunter2-canary' },
      };
      const error = (await driver
        .provision({ ...request(unique('e'), 'q'), inputs }, live())
        .catch((e: unknown) => e)) as Error;
      expect(error).toMatchObject({ code: 'DRIVER_FAILED' });
      expect(error.message).toMatch(
        new RegExp(
          `cannot reach RabbitMQ's management API at http://127.0.0.1:${closed} .*rabbitmq-plugins enable rabbitmq_management`,
        ),
      );
      expect(`${error.message} ${String(error.cause)}`).not.toContain('hunter2-canary');
    });

    it('says the admin password is wrong without printing it', async () => {
      const inputs = { values: { host: '127.0.0.1' }, secrets: { adminPassword: 'hunter2-canary' } };
      const error = (await driver
        .provision({ ...request(unique('e'), 'q'), inputs }, live())
        .catch((e: unknown) => e)) as Error;
      expect(error.message).toMatch(/refused admin user "guest" .*adminUser and adminPassword/);
      expect(`${error.message} ${String(error.cause)}`).not.toContain('hunter2-canary');
    });

    it('names the tag an admin lacks', async () => {
      for (const tags of ['', 'management']) {
        const user = `paved_test_weak_${randomBytes(4).toString('hex')}`;
        await api('PUT', `api/users/${user}`, { password: 'weak-password', tags });
        try {
          const inputs = {
            values: { host: '127.0.0.1', adminUser: user },
            secrets: { adminPassword: 'weak-password' },
          };
          const error = (await driver
            .provision({ ...request(unique('e'), 'q'), inputs }, live())
            .catch((e: unknown) => e)) as Error;
          expect(error.message).toContain(
            `admin user "${user}" on RabbitMQ's management API at http://127.0.0.1:15672 may not`,
          );
          expect(error.message).toContain('administrator tag');
          expect(error.message).not.toContain('weak-password');
        } finally {
          await api('DELETE', `api/users/${user}`);
        }
      }
    });
  });

  describe('hostile identifiers', () => {
    // Each row carries this run's token where the row is not hostile, so concurrent runs never share names.
    const run = randomBytes(4).toString('hex');
    const hostile: [string, string, string][] = [
      ["it's", `dev-${run}`, 'x"/../../api/users/guest'],
      [`shop-${run}`, 'a%2F..%2Fvhosts', 'db'],
      ['`tick`', `dev-${run}`, '/; .* #'],
      [`shop-${run}`, 'dev', 'база-данных.数据库.😀'],
      ['shop', 'dev', `${run}-${'x'.repeat(190)}a`],
      ['shop', 'dev', `${run}-${'x'.repeat(190)}b`],
    ];

    it('gives every resource a plain vhost and user; nothing is reached that was not meant, long names stay distinct', async () => {
      const vhosts = new Set<string>();
      for (const [app, env, id] of hostile) {
        const context = { ...conformanceContext({ app }), env };
        let stored: unknown;
        try {
          const result = await driver.provision({ resource: resource(id), context, inputs: INPUTS }, live());
          stored = result.state;
          const state = result.state as AmqpState;
          expect(state.vhost).toMatch(SHARED_NAME_PATTERN);
          expect(result.secrets.username).toMatch(SHARED_NAME_PATTERN);
          vhosts.add(state.vhost);
          await roundTrip(result.secrets, state.vhost, 'ok');
          expect((await api('GET', 'api/users/guest')).body).toMatchObject({ tags: ['administrator'] });
        } finally {
          await driver.deprovision(
            { resource: resource(id), context: bare(app, env), inputs: INPUTS, state: stored, dumpDir },
            live(),
          );
        }
      }
      expect(vhosts.size).toBe(hostile.length);
    });

    it('refuses stored state whose names Paved did not make', async () => {
      const app = unique('tamper');
      const tampered: AmqpState = { version: 1, vhost: '/', loginBase: 'paved_x', login: { current: 1 } };
      await expect(
        driver.provision(request(app, 'q', { previousState: tampered }), live()),
      ).rejects.toMatchObject({
        code: 'INVALID_INPUT',
      });
      await expect(driver.deprovision(deprovisionRequest(app, 'q', tampered), live())).rejects.toMatchObject({
        code: 'INVALID_INPUT',
      });
      expect((await api('GET', 'api/vhosts/%2F')).status).toBe(200);
    });
  });
});
