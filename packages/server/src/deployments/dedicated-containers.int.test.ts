/**
 * The `container` driver against a real engine (Podman's Docker API) through the docker target's
 * `resourceContainers`: servers of their own per resource, from the official image names, which
 * scripts/setup-container-engine.sh builds from the host's own servers. Here in the server package
 * because the test needs both the driver and the docker target.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PavedError, ProvisionRequest, ResourceRef } from '@paved/core';
import { createContainerDriver } from '@paved/drivers';
import { conformanceContext, describeResourceDriver } from '@paved/drivers/testing/describe-resource-driver';
import { DockerRuntime } from '@paved/runtimes';
import {
  ownedObjects,
  silentImage,
  testDocker,
  TEST_DOCKER_HOST,
  uniqueTargetName,
} from '@paved/runtimes/docker/testing/test-engine';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

const target = uniqueTargetName('dedicated');
const runtime = new DockerRuntime({ name: target, host: TEST_DOCKER_HOST });
const docker = testDocker();
const app = `dc${randomBytes(3).toString('hex')}`;
const env = 'dev';
const context = conformanceContext({
  app,
  env,
  target: { name: target, kind: 'docker' },
  containers: runtime.resourceContainers,
  network: {},
});

/** Where deprovisioning writes its snapshots in these tests. */
const dumps = mkdtempSync(join(tmpdir(), 'paved-dedicated-dumps-'));

/** The snapshot file a deprovisioning's log line names; it exists. */
function snapshotNamed(said: string[]): string {
  const line = said.find((message) => message.startsWith('wrote a snapshot of'));
  expect(line, said.join('\n')).toBeDefined();
  const file = / to (\S+\.tar)$/.exec(line ?? '')?.[1] ?? '';
  expect(file.startsWith(dumps)).toBe(true);
  expect(existsSync(file)).toBe(true);
  return file;
}

/** The member names of a tar archive, as the system's tar lists them. */
function tarList(file: string): string[] {
  return execFileSync('tar', ['tf', file], { encoding: 'utf8' })
    .split('\n')
    .filter((name) => name !== '');
}

afterAll(async () => {
  rmSync(dumps, { recursive: true, force: true });
  await runtime.destroy({ app, env }, { deleteData: true });
  await runtime.close();
  // Nothing the tests made is left on the engine.
  expect(await ownedObjects(docker, target)).toEqual({
    containers: [],
    networks: [],
    volumes: [],
    images: [],
  });
}, 120_000);

/** The host port the engine published for a resource container's server port. */
async function published(container: string, port: number): Promise<number> {
  const info = await docker.getContainer(container).inspect();
  const binding = info.NetworkSettings.Ports[`${port}/tcp`]?.[0]?.HostPort;
  if (binding === undefined) throw new Error(`container ${container} publishes no port ${port}`);
  return Number(binding);
}

async function exists(kind: 'container' | 'volume', name: string): Promise<boolean> {
  try {
    if (kind === 'container') await docker.getContainer(name).inspect();
    else await docker.getVolume(name).inspect();
    return true;
  } catch {
    return false;
  }
}

function resource(type: string, id: string): ResourceRef {
  return { uid: `${type}.default#${id}`, type, class: 'default', id, params: {}, metadata: {} };
}

function request(type: string, id: string, extra: Partial<ProvisionRequest> = {}): ProvisionRequest {
  return { resource: resource(type, id), context, inputs: { values: {}, secrets: {} }, ...extra };
}

const live = (): AbortSignal => new AbortController().signal;

async function withRedis<T>(
  port: number,
  secrets: Record<string, string>,
  work: (client: Redis) => Promise<T>,
): Promise<T> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    username: secrets.username,
    password: secrets.password,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  await client.connect();
  try {
    return await work(client);
  } finally {
    client.disconnect();
  }
}

describeResourceDriver('redis', () => createContainerDriver(), {
  inputs: { values: {}, secrets: {} },
  params: {},
  context: { app, env, target: { name: target, kind: 'docker' }, containers: runtime.resourceContainers },
  malformed: { values: { readyTimeoutSeconds: 'soon' }, secrets: {} },
  skip: {
    malformedResult:
      'the result is made in-process from the names and the generated password; what the server answers is only a readiness check (a crashing image is tested below)',
    timeout:
      'deprovisioning is two engine calls with no time limit of the driver; the provisioning limit (readyTimeoutSeconds) is tested below',
    cancel:
      'deprovisioning what was never provisioned finishes before the suite cancels it; cancelling a provisioning midway is tested below',
  },
  check: async (outputs, secrets) => {
    expect(outputs).toMatchObject({ port: 6379, prefix: '' });
    expect(String(outputs.host)).toMatch(new RegExp(`^paved-${app}-dev-orders-redis-[0-9a-f]{10}$`));
    const port = await published(String(outputs.host), 6379);
    await withRedis(port, secrets, async (client) => {
      await client.set('conformance', 'yes');
      expect(await client.get('conformance')).toBe('yes');
    });
  },
});

describe('container driver on a docker target', () => {
  const driver = createContainerDriver();

  it('runs PostgreSQL of its own: data written with the outputs survives re-provisioning with the same password; deprovisioning removes container and volume', async () => {
    const first = await driver.provision(request('postgres', 'orders.db'), live());
    const state = first.state as { container: string; volume: string };
    expect(first.outputs).toEqual({
      host: state.container,
      port: 5432,
      name: 'orders_db',
      database: 'orders_db',
    });
    expect(Object.keys(first.secrets).sort()).toEqual(['password', 'uri', 'username']);
    expect(first.secrets.uri).toBe(
      `postgresql://paved:${first.secrets.password}@${state.container}:5432/orders_db`,
    );
    const connect = async (password: string): Promise<pg.Client> => {
      const client = new pg.Client({
        host: '127.0.0.1',
        port: await published(state.container, 5432),
        user: first.secrets.username,
        password,
        database: String(first.outputs.database),
      });
      await client.connect();
      return client;
    };
    let client = await connect(first.secrets.password ?? '');
    await client.query('create table notes (text text)');
    await client.query("insert into notes values ('kept')");
    await client.end();

    // The labels the environment's deletion and the engine counts go by; no secret among them.
    const info = await docker.getContainer(state.container).inspect();
    expect(info.Config.Labels).toMatchObject({
      'dev.paved.target': target,
      'dev.paved.app': app,
      'dev.paved.env': env,
      'dev.paved.resource': 'postgres.default#orders.db',
    });
    expect(JSON.stringify(info.Config.Labels)).not.toContain(first.secrets.password);
    expect((await docker.getVolume(state.volume).inspect()).Labels).toMatchObject({ 'dev.paved.app': app });

    // A deploy provisions again: same container, same password, same data.
    const again = await driver.provision(
      request('postgres', 'orders.db', {
        previousState: JSON.parse(JSON.stringify(first.state)),
        previousSecrets: first.secrets,
      }),
      live(),
    );
    expect(again).toEqual(first);
    expect((await docker.getContainer(state.container).inspect()).Id).toBe(info.Id);

    // The container removed from outside (envs delete without --delete-data): a new one on the kept volume.
    await docker.getContainer(state.container).remove({ force: true });
    const recreated = await driver.provision(
      request('postgres', 'orders.db', { previousState: first.state, previousSecrets: first.secrets }),
      live(),
    );
    expect(recreated.secrets).toEqual(first.secrets);
    client = await connect(first.secrets.password ?? '');
    expect((await client.query('select text from notes')).rows).toEqual([{ text: 'kept' }]);
    await client.end();

    const said: string[] = [];
    await driver.deprovision(
      {
        resource: resource('postgres', 'orders.db'),
        context,
        inputs: { values: {}, secrets: {} },
        state: recreated.state,
        dumpDir: dumps,
        log: (message) => said.push(message),
      },
      live(),
    );
    expect(await exists('container', state.container)).toBe(false);
    expect(await exists('volume', state.volume)).toBe(false);
    // The data went into a snapshot first, which the log names: the server's files at rest.
    const snapshot = snapshotNamed(said);
    expect(statSync(snapshot).mode & 0o777).toBe(0o600);
    const files = tarList(snapshot);
    expect(files).toEqual(expect.arrayContaining([expect.stringMatching(/(^|\/)PG_VERSION$/)]));
    expect(files.some((file) => /(^|\/)base\/\d+\//.test(file))).toBe(true);
  });

  it('finds the password again when a provisioning was lost before it was recorded', async () => {
    const lost = await driver.provision(request('redis', 'cache.lost'), live());
    const found = await driver.provision(request('redis', 'cache.lost'), live());
    expect(found.secrets).toEqual(lost.secrets);
    await driver.deprovision(
      {
        resource: resource('redis', 'cache.lost'),
        context,
        inputs: { values: {}, secrets: {} },
        state: found.state,
      },
      live(),
    );
  });

  it('keeps two resources apart: their own containers, and one password opens only its own server', async () => {
    const a = await driver.provision(request('redis', 'a.cache'), live());
    const b = await driver.provision(request('redis', 'b.cache'), live());
    expect(a.outputs.host).not.toBe(b.outputs.host);
    const portB = await published(String(b.outputs.host), 6379);
    await expect(withRedis(portB, b.secrets, (client) => client.ping())).resolves.toBe('PONG');
    const stranger = new Redis({
      host: '127.0.0.1',
      port: portB,
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    stranger.on('error', () => undefined);
    await stranger.connect();
    await expect(stranger.call('AUTH', a.secrets.username ?? '', a.secrets.password ?? '')).rejects.toThrow(
      /WRONGPASS/,
    );
    await expect(stranger.get('anything')).rejects.toThrow(/NOAUTH/);
    stranger.disconnect();
    for (const [id, result] of [
      ['a.cache', a],
      ['b.cache', b],
    ] as const) {
      await driver.deprovision(
        {
          resource: resource('redis', id),
          context,
          inputs: { values: {}, secrets: {} },
          state: result.state,
        },
        live(),
      );
    }
  });

  it('fails fast, saying why, when the server refuses the credentials it is handed back', async () => {
    const first = await driver.provision(request('redis', 'refusing.cache'), live());
    const started = Date.now();
    await expect(
      driver.provision(
        request('redis', 'refusing.cache', {
          previousState: first.state,
          previousSecrets: { ...first.secrets, password: 'not-the-password' },
        }),
        live(),
      ),
    ).rejects.toThrow(/refuses the resource's credentials \(WRONGPASS/);
    // Three refusals in a row, not the 180 s readiness limit.
    expect(Date.now() - started).toBeLessThan(60_000);
    await driver.deprovision(
      {
        resource: resource('redis', 'refusing.cache'),
        context,
        inputs: { values: {}, secrets: {} },
        state: first.state,
      },
      live(),
    );
  });

  it("fails with the container's own log lines when its image cannot run the server", async () => {
    const failing = driver.provision(
      request('redis', 'broken.cache', {
        inputs: { values: { image: 'localhost/busybox:paved', readyTimeoutSeconds: 60 }, secrets: {} },
      }),
      live(),
    );
    await expect(failing).rejects.toThrow(
      /driver "container": Redis container "paved-.*-broken-cache-[0-9a-f]{10}" \(image localhost\/busybox:paved\) of resource "redis.default#broken.cache" (stopped|keeps crashing)/,
    );
    const error = (await failing.catch((caught: unknown) => caught)) as PavedError;
    expect((error.details?.lastLogLines as string[]).join('\n')).toMatch(/docker-entrypoint.sh/);
    await driver.deprovision(
      {
        resource: resource('redis', 'broken.cache'),
        context,
        inputs: { values: {}, secrets: {} },
        state: null,
      },
      live(),
    );
  });

  it('stops a provisioning midway when cancelled, rejecting with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled by the test');
    const pending = driver.provision(request('postgres', 'cancelled.db'), controller.signal);
    setTimeout(() => controller.abort(reason), 300);
    await expect(pending).rejects.toBe(reason);
    await driver.deprovision(
      {
        resource: resource('postgres', 'cancelled.db'),
        context,
        inputs: { values: {}, secrets: {} },
        state: null,
      },
      live(),
    );
  });

  it('refuses on a process target, naming the target and what to apply', async () => {
    const { containers: _containers, ...processContext } = {
      ...context,
      target: { name: 'process', kind: 'process' as const },
    };
    await expect(
      driver.provision({ ...request('postgres', 'orders.db'), context: processContext }, live()),
    ).rejects.toThrow(
      /environment dc[0-9a-f]+\/dev runs on process target "process", and only docker targets run servers of their own; apply a ResourceDefinition for type postgres/,
    );
  });

  it('fails saying so when the server does not accept connections within readyTimeoutSeconds', async () => {
    // A container that runs and never listens: a real PostgreSQL may be ready within the second.
    const image = await silentImage(docker);
    await expect(
      driver.provision(
        request('postgres', 'slow.db', {
          inputs: { values: { readyTimeoutSeconds: 1, image }, secrets: {} },
        }),
        live(),
      ),
    ).rejects.toThrow(
      /did not accept connections within 1 s .*raise the definition's input readyTimeoutSeconds/,
    );
    await driver.deprovision(
      {
        resource: resource('postgres', 'slow.db'),
        context,
        inputs: { values: {}, secrets: {} },
        state: null,
      },
      live(),
    );
  });

  it('runs RabbitMQ of its own: the user gets into its vhost', async () => {
    const result = await driver.provision(request('amqp', 'orders.queue'), live());
    const state = result.state as { container: string; volume: string };
    expect(result.outputs).toEqual({ host: state.container, port: 5672, vhost: 'orders_queue' });
    const port = await published(state.container, 5672);
    const url = `amqp://${result.secrets.username}:${result.secrets.password}@127.0.0.1:${port}/orders_queue`;
    const connection = await amqplib.connect(url);
    const channel = await connection.createChannel();
    await channel.assertQueue('jobs');
    channel.sendToQueue('jobs', Buffer.from('work'));
    const message = await new Promise<string>((resolve) => {
      void channel.consume('jobs', (received) => {
        if (received !== null) resolve(received.content.toString());
      });
    });
    expect(message).toBe('work');
    await connection.close();
    await expect(amqplib.connect(`amqp://guest:guest@127.0.0.1:${port}/`)).rejects.toThrow();
    await driver.deprovision(
      {
        resource: resource('amqp', 'orders.queue'),
        context,
        inputs: { values: {}, secrets: {} },
        state: result.state,
      },
      live(),
    );
    expect(await exists('volume', state.volume)).toBe(false);
  });

  it('runs MariaDB of its own', async () => {
    const result = await driver.provision(request('mysql', 'orders.sql'), live());
    const state = result.state as { container: string; volume: string };
    expect(result.outputs).toEqual({
      host: state.container,
      port: 3306,
      name: 'orders_sql',
      database: 'orders_sql',
    });
    const connection = await mysql.createConnection({
      host: '127.0.0.1',
      port: await published(state.container, 3306),
      user: result.secrets.username,
      password: result.secrets.password,
      database: 'orders_sql',
    });
    await connection.query('create table t (v int)');
    await connection.query('insert into t values (7)');
    const [rows] = await connection.query('select v from t');
    expect(rows).toEqual([{ v: 7 }]);
    await connection.end();
    // Without its container (removed from outside), the snapshot reads the volume through a
    // container that is never started, and removes that one too.
    await docker.getContainer(state.container).remove({ force: true });
    const said: string[] = [];
    await driver.deprovision(
      {
        resource: resource('mysql', 'orders.sql'),
        context,
        inputs: { values: {}, secrets: {} },
        state: result.state,
        dumpDir: dumps,
        log: (message) => said.push(message),
      },
      live(),
    );
    expect(await exists('volume', state.volume)).toBe(false);
    const files = tarList(snapshotNamed(said));
    expect(files).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/(^|\/)ibdata1$/),
        expect.stringMatching(/(^|\/)orders_sql\/t\.frm$/),
      ]),
    );
    const left = await docker.listContainers({ all: true, filters: { label: [`dev.paved.app=${app}`] } });
    expect(left.filter((info) => info.Names.some((name) => name.includes('-snapshot-')))).toEqual([]);
  });
});
