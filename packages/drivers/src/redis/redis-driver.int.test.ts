/**
 * The redis driver against the Redis 7 server on this machine (127.0.0.1:6379, the default user
 * without a password as admin). Redis checks ACL passwords, so every credential is proven by
 * logging in. Every test uses an app name of its own and removes what it made.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_NAME_PATTERN } from '../support/shared-names.js';
import { conformanceContext, describeResourceDriver } from '../testing/describe-resource-driver.js';
import { startMisbehavingServer } from '../testing/misbehaving-server.js';
import { sharedServerRequests } from '../testing/shared-server-requests.js';
import { createRedisDriver, type RedisState } from './redis-driver.js';

const INPUTS = { values: { host: '127.0.0.1', port: 6379 }, secrets: {} };
const live = (): AbortSignal => new AbortController().signal;
const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

let dumpDir = '';
beforeAll(async () => {
  dumpDir = await mkdtemp(join(tmpdir(), 'paved-redis-dumps-'));
});
afterAll(async () => {
  await rm(dumpDir, { recursive: true, force: true });
});

/** A client that authenticates, if given a user, as its first command, so a refusal is its answer. */
function client(username?: string, password?: string): Redis {
  const redis = new Redis({
    host: '127.0.0.1',
    port: 6379,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
  });
  redis.on('error', () => undefined);
  if (username !== undefined) credentials.set(redis, [username, password ?? '']);
  return redis;
}

const credentials = new WeakMap<Redis, [string, string]>();

async function using<T>(redis: Redis, work: (redis: Redis) => Promise<T>): Promise<T> {
  await redis.connect();
  try {
    const auth = credentials.get(redis);
    if (auth !== undefined) await redis.auth(auth[0], auth[1]);
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}
const admin = <T>(work: (redis: Redis) => Promise<T>): Promise<T> => using(client(), work);
const tenant = <T>(secrets: Record<string, string>, work: (redis: Redis) => Promise<T>): Promise<T> =>
  using(client(secrets.username, secrets.password), work);

const { resource, request, bare, deprovisionRequest, credentialsRequest } = sharedServerRequests(
  'redis',
  INPUTS,
  () => dumpDir,
);
const userExists = (name: string): Promise<boolean> =>
  admin(async (redis) => ((await redis.call('ACL', 'USERS')) as string[]).includes(name));

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
describeResourceDriver('redis', () => createRedisDriver({ dumpDir }), {
  inputs: INPUTS,
  params: {},
  context: { app: conformanceApp },
  malformed: { values: { host: '127.0.0.1', tls: 'yes please' }, secrets: {} },
  malformedResult: { inputs: at(garbage.port) },
  timeout: { inputs: at(silent.port, { connectTimeoutSeconds: 1, timeoutSeconds: 1 }), withinMs: 5_000 },
  cancel: { inputs: at(silent.port, { connectTimeoutSeconds: 60, timeoutSeconds: 60 }) },
  check: async (outputs, secrets) => {
    expect(outputs).toMatchObject({ host: '127.0.0.1', port: 6379 });
    await tenant(secrets, async (redis) => {
      await redis.set(`${String(outputs.prefix)}k`, 'v');
      expect(await redis.get(`${String(outputs.prefix)}k`)).toBe('v');
    });
  },
});
afterAll(async () => {
  await createRedisDriver({ dumpDir }).deprovision(
    deprovisionRequest(conformanceApp, 'orders.redis', undefined),
    live(),
  );
});

describe('redis driver', () => {
  const driver = createRedisDriver({ dumpDir });

  it('provisions a user limited to its prefix, and again to the same outputs and password', async () => {
    const app = unique('rd');
    const logs: string[] = [];
    const first = await driver.provision(
      { ...request(app, 'cache'), log: (line) => logs.push(line) },
      live(),
    );
    const state = first.state as RedisState;
    try {
      expect(state.prefix).toMatch(/^paved_rd_[0-9a-f]{8}_dev_cache_[a-z2-7]{10}:$/);
      expect(first.outputs).toEqual({ host: '127.0.0.1', port: 6379, prefix: state.prefix });
      expect(first.secrets).toEqual({
        username: `${state.loginBase}_1`,
        password: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      });
      // This server's default user has no password: the driver says what that means.
      const open = await admin(async (redis) => {
        const info = (await redis.call('ACL', 'GETUSER', 'default')) as unknown[];
        const flags = info[info.indexOf('flags') + 1] as string[];
        return flags.includes('on') && flags.includes('nopass');
      });
      expect(logs.some((line) => line.includes('default user'))).toBe(open);
      expect(logs.join('\n')).not.toContain(first.secrets.password);

      await tenant(first.secrets, (redis) => redis.set(`${state.prefix}kept`, 'still here'));
      const again = await driver.provision(
        request(app, 'cache', { previousState: first.state, previousSecrets: first.secrets }),
        live(),
      );
      expect(again).toEqual(first);
      await tenant(first.secrets, async (redis) =>
        expect(await redis.get(`${state.prefix}kept`)).toBe('still here'),
      );

      const reset = await driver.provision(request(app, 'cache', { previousState: first.state }), live());
      expect(reset.secrets.password).not.toBe(first.secrets.password);
      await expect(tenant(first.secrets, (redis) => redis.ping())).rejects.toThrow(/WRONGPASS/);
      await tenant(reset.secrets, async (redis) =>
        expect(await redis.get(`${state.prefix}kept`)).toBe('still here'),
      );
    } finally {
      await driver.deprovision(deprovisionRequest(app, 'cache', first.state), live());
    }
  });

  it("keeps each resource to its own keys and channels, and away from the server's administration", async () => {
    const app = unique('iso');
    const a = await driver.provision(request(app, 'a'), live());
    const b = await driver.provision(request(app, 'b'), live());
    const prefixA = (a.state as RedisState).prefix;
    const prefixB = (b.state as RedisState).prefix;
    try {
      await tenant(b.secrets, (redis) => redis.set(`${prefixB}secret`, 'b-only'));
      await tenant(a.secrets, async (redis) => {
        await redis.set(`${prefixA}mine`, '1');
        expect(await redis.get(`${prefixA}mine`)).toBe('1');
        const refused = [
          () => redis.get(`${prefixB}secret`),
          () => redis.set(`${prefixB}secret`, 'overwritten'),
          () => redis.del(`${prefixB}secret`),
          () => redis.rename(`${prefixA}mine`, `${prefixB}stolen`),
          () => redis.copy(`${prefixB}secret`, `${prefixA}stolen`),
          () => redis.publish(`${prefixB}events`, 'x'),
          () => redis.keys('*'),
          () => redis.scan('0'),
          () => redis.randomkey(),
          () => redis.dbsize(),
          () => redis.call('PUBSUB', 'CHANNELS'),
          () => redis.select(1),
          () => redis.flushdb(),
          () => redis.flushall(),
          () => redis.call('CONFIG', 'GET', '*'),
          () => redis.call('ACL', 'LIST'),
          () => redis.call('ACL', 'SETUSER', 'intruder', 'on', 'nopass', '+@all', '~*'),
          () => redis.call('CLIENT', 'LIST'),
          () => redis.call('INFO'),
          () => redis.call('FUNCTION', 'FLUSH'),
          () => redis.call('SCRIPT', 'FLUSH'),
          () => redis.call('SHUTDOWN', 'NOSAVE'),
        ];
        for (const attempt of refused) await expect(attempt()).rejects.toThrow(/NOPERM/);
        // Scripts run with the caller's rules, for declared and undeclared keys alike.
        await expect(redis.eval("return redis.call('GET', KEYS[1])", 1, `${prefixB}secret`)).rejects.toThrow(
          /can't access at least one of the keys|NOPERM/,
        );
        await expect(redis.eval(`return redis.call('GET', '${prefixB}secret')`, 0)).rejects.toThrow(
          /can't access at least one of the keys|NOPERM/,
        );
        // What a cache and a queue need still works within the prefix.
        await redis.multi().incr(`${prefixA}n`).expire(`${prefixA}n`, 60).exec();
        await redis.lpush(`${prefixA}queue`, 'job');
        expect(await redis.blpop(`${prefixA}queue`, 1)).toEqual([`${prefixA}queue`, 'job']);
        expect(await redis.eval("return redis.call('INCR', KEYS[1])", 1, `${prefixA}n`)).toBe(2);
        expect(await redis.publish(`${prefixA}events`, 'x')).toBe(0);
      });
      await tenant(b.secrets, async (redis) => expect(await redis.get(`${prefixB}secret`)).toBe('b-only'));
      // The rules themselves, as the server reads them (whatever else it has turned off).
      const dryRun = (...command: string[]): Promise<unknown> =>
        admin((redis) => redis.call('ACL', 'DRYRUN', a.secrets.username!, ...command));
      for (const command of [
        ['DEBUG', 'SLEEP', '0'],
        ['MONITOR'],
        ['MODULE', 'LIST'],
        ['SHUTDOWN'],
        ['CONFIG', 'SET', 'maxmemory', '1'],
        ['SWAPDB', '0', '1'],
        ['MOVE', `${prefixA}mine`, '1'],
        ['FUNCTION', 'LOAD', 'x'],
        ['FCALL', 'f', '0'],
        ['SCRIPT', 'KILL'],
        ['CLIENT', 'KILL', 'ID', '1'],
        ['GET', `${prefixB}secret`],
        ['SUBSCRIBE', `${prefixB}events`],
      ]) {
        expect(String(await dryRun(...command)), command.join(' ')).toMatch(/no permissions/);
      }
      for (const command of [
        ['GET', `${prefixA}x`],
        ['EVAL', 'return 1', '0'],
        ['SUBSCRIBE', `${prefixA}events`],
        ['XADD', `${prefixA}stream`, '*', 'f', 'v'],
        ['CLIENT', 'SETNAME', 'web'],
      ]) {
        expect(await dryRun(...command), command.join(' ')).toBe('OK');
      }
      // Subscribing to the other's channels is refused too.
      const subscriber = client(a.secrets.username, a.secrets.password);
      await using(subscriber, async (redis) => {
        await expect(redis.subscribe(`${prefixB}events`)).rejects.toThrow(/NOPERM/);
      });
    } finally {
      await driver.deprovision(deprovisionRequest(app, 'a', a.state), live());
      await driver.deprovision(deprovisionRequest(app, 'b', b.state), live());
    }
  });

  it('rotates credentials in two steps: both users work until the old one is revoked', async () => {
    const app = unique('rot');
    const first = await driver.provision(request(app, 'cache'), live());
    const prefix = (first.state as RedisState).prefix;
    let state = first.state;
    const oldSession = client(first.secrets.username, first.secrets.password);
    try {
      await oldSession.connect();
      await oldSession.auth(first.secrets.username!, first.secrets.password!);
      await oldSession.set(`${prefix}t`, 'before');
      const rotated = await driver.rotateCredentials!(
        credentialsRequest(app, 'cache', first.state, first.secrets),
        live(),
      );
      state = rotated.state;
      expect(rotated.secrets.username).not.toBe(first.secrets.username);
      await tenant(rotated.secrets, async (redis) => expect(await redis.get(`${prefix}t`)).toBe('before'));
      await tenant(first.secrets, (redis) => redis.ping());
      await expect(
        driver.rotateCredentials!(credentialsRequest(app, 'cache', rotated.state, rotated.secrets), live()),
      ).rejects.toMatchObject({ code: 'CONFLICT' });
      const redeployed = await driver.provision(
        request(app, 'cache', { previousState: rotated.state, previousSecrets: rotated.secrets }),
        live(),
      );
      expect(redeployed).toEqual(rotated);
      const revoked = await driver.revokePreviousCredentials!(
        credentialsRequest(app, 'cache', rotated.state, rotated.secrets),
        live(),
      );
      state = revoked.state;
      expect((revoked.state as RedisState).login).toEqual({ current: 2 });
      await expect(oldSession.ping()).rejects.toThrow();
      await expect(tenant(first.secrets, (redis) => redis.ping())).rejects.toThrow(/WRONGPASS/);
      await tenant(revoked.secrets, async (redis) => expect(await redis.get(`${prefix}t`)).toBe('before'));
    } finally {
      oldSession.disconnect();
      await driver.deprovision(deprovisionRequest(app, 'cache', state), live());
    }
  });

  it('dumps and removes its users and every key under its prefix, in every database; twice is fine', async () => {
    const app = unique('dump');
    const mine = await driver.provision(request(app, 'cache'), live());
    const other = await driver.provision(request(app, 'other'), live());
    const state = mine.state as RedisState;
    const otherPrefix = (other.state as RedisState).prefix;
    try {
      await tenant(mine.secrets, async (redis) => {
        for (let i = 0; i < 1500; i += 1) await redis.set(`${state.prefix}k${i}`, `v${i}`);
        await redis.set(`${state.prefix}ttl`, 'short-lived', 'EX', 600);
        // COPY may write to another database although SELECT is refused.
        await redis.copy(`${state.prefix}k1`, `${state.prefix}elsewhere`, 'DB', 1);
      });
      await tenant(other.secrets, (redis) => redis.set(`${otherPrefix}keep`, 'untouched'));
      const dir = join(dumpDir, app);
      const logs: string[] = [];
      await driver.deprovision(
        { ...deprovisionRequest(app, 'cache', state), dumpDir: dir, log: (l) => logs.push(l) },
        live(),
      );
      expect(await userExists(mine.secrets.username!)).toBe(false);
      await expect(tenant(mine.secrets, (redis) => redis.ping())).rejects.toThrow(/WRONGPASS/);
      const left = await admin(async (redis) => {
        const zero = await redis.keys(`${state.prefix}*`);
        await redis.select(1);
        const one = await redis.keys(`${state.prefix}*`);
        return [...zero, ...one];
      });
      expect(left).toEqual([]);
      await tenant(other.secrets, async (redis) =>
        expect(await redis.get(`${otherPrefix}keep`)).toBe('untouched'),
      );

      const files = await readdir(dir);
      expect(files).toHaveLength(1);
      expect(logs.join('\n')).toContain('1502 key(s)');
      const lines = (await readFile(join(dir, files[0]!), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { db: number; key: string; ttl: number; value: string });
      expect(lines).toHaveLength(1502);
      const ttl = lines.find((line) => line.key === `${state.prefix}ttl`)!;
      expect(ttl.ttl).toBeGreaterThan(0);
      expect(lines.find((line) => line.key === `${state.prefix}elsewhere`)?.db).toBe(1);
      // The dump is what RESTORE takes back.
      const restored = `paved_test_restore_${randomBytes(4).toString('hex')}`;
      await admin(async (redis) => {
        await redis.restore(restored, 0, Buffer.from(ttl.value, 'base64'));
        expect(await redis.get(restored)).toBe('short-lived');
        await redis.del(restored);
      });
      await driver.deprovision({ ...deprovisionRequest(app, 'cache', state), dumpDir: dir }, live());
      expect(await readdir(dir)).toHaveLength(1);
    } finally {
      await driver.deprovision(deprovisionRequest(app, 'cache', state), live());
      await driver.deprovision(deprovisionRequest(app, 'other', other.state), live());
    }
  });

  describe('clear errors', () => {
    it('names the server and the inputs when it cannot connect', async () => {
      const inputs = { values: { host: '127.0.0.1', port: 1 }, secrets: { adminPassword: 'hunter2-canary' } };
      const error = (await driver
        .provision({ ...request(unique('e'), 'c'), inputs }, live())
        .catch((e: unknown) => e)) as Error;
      expect(error).toMatchObject({ code: 'DRIVER_FAILED' });
      expect(error.message).toMatch(/cannot reach Redis at 127\.0\.0\.1:1 .*inputs host and port/);
      expect(`${error.message} ${String(error.cause)}`).not.toContain('hunter2-canary');
    });

    it('says the admin password is wrong without printing it, and names the privilege an admin lacks', async () => {
      const adminUser = `paved_test_admin_${randomBytes(4).toString('hex')}`;
      const weakUser = `paved_test_weak_${randomBytes(4).toString('hex')}`;
      await admin(async (redis) => {
        await redis.call('ACL', 'SETUSER', adminUser, 'on', '>right-password', '+@all', '~*', '&*');
        await redis.call('ACL', 'SETUSER', weakUser, 'on', '>weak-password', '+@read', '+ping', '~*');
      });
      try {
        const wrong = {
          values: { host: '127.0.0.1', adminUser },
          secrets: { adminPassword: 'hunter2-canary' },
        };
        const error = (await driver
          .provision({ ...request(unique('e'), 'c'), inputs: wrong }, live())
          .catch((e: unknown) => e)) as Error;
        expect(error.message).toMatch(
          new RegExp(`refused admin user "${adminUser}" .*adminUser and adminPassword`),
        );
        expect(`${error.message} ${String(error.cause)}`).not.toContain('hunter2-canary');

        const weak = {
          values: { host: '127.0.0.1', adminUser: weakUser },
          secrets: { adminPassword: 'weak-password' },
        };
        const denied = (await driver
          .provision({ ...request(unique('e'), 'c'), inputs: weak }, live())
          .catch((e: unknown) => e)) as Error;
        expect(denied.message).toContain(
          `admin user "${weakUser}" on Redis at 127.0.0.1:6379 may not create ACL user`,
        );
        expect(denied.message).toContain('+@admin');
        expect(denied.message).not.toContain('weak-password');

        // A real admin user with a password works.
        const good = {
          values: { host: '127.0.0.1', adminUser },
          secrets: { adminPassword: 'right-password' },
        };
        const app = unique('adm');
        const made = await driver.provision({ ...request(app, 'c'), inputs: good }, live());
        await tenant(made.secrets, (redis) => redis.ping());
        await driver.deprovision({ ...deprovisionRequest(app, 'c', made.state), inputs: good }, live());
      } finally {
        await admin((redis) => redis.call('ACL', 'DELUSER', adminUser, weakUser));
      }
    });
  });

  describe('hostile identifiers', () => {
    const canary = `paved_canary_${randomBytes(4).toString('hex')}`;
    beforeAll(async () => {
      await admin((redis) => redis.set(canary, 'alive'));
    });
    afterAll(async () => {
      await admin((redis) => redis.del(canary));
    });
    // Each row carries this run's token where the row is not hostile, so concurrent runs never share names.
    const run = randomBytes(4).toString('hex');
    const hostile: [string, string, string][] = [
      ["it's", `dev-${run}`, `x" ~* +@all; FLUSHALL`],
      [`shop-${run}`, 'a\r\nFLUSHALL\r\n', 'db'],
      ['`tick`', `dev-${run}`, 'orders:* &* allkeys'],
      [`shop-${run}`, 'dev', 'база-данных.数据库.😀'],
      ['shop', 'dev', `${run}-${'x'.repeat(190)}a`],
      ['shop', 'dev', `${run}-${'x'.repeat(190)}b`],
    ];

    it('gives every resource a plain name and prefix; nothing is injected, long names stay distinct', async () => {
      const prefixes = new Set<string>();
      for (const [app, env, id] of hostile) {
        const context = { ...conformanceContext({ app }), env };
        let stored: unknown;
        try {
          const result = await driver.provision({ resource: resource(id), context, inputs: INPUTS }, live());
          stored = result.state;
          const state = result.state as RedisState;
          expect(state.prefix.slice(0, -1)).toMatch(SHARED_NAME_PATTERN);
          expect(result.secrets.username).toMatch(SHARED_NAME_PATTERN);
          expect(result.secrets.username!.length).toBeLessThanOrEqual(128);
          prefixes.add(state.prefix);
          await tenant(result.secrets, async (redis) => {
            await expect(redis.get(canary)).rejects.toThrow(/NOPERM/);
            await redis.set(`${state.prefix}x`, '1');
          });
          expect(await admin((redis) => redis.get(canary))).toBe('alive');
        } finally {
          await driver.deprovision(
            { resource: resource(id), context: bare(app, env), inputs: INPUTS, state: stored, dumpDir },
            live(),
          );
        }
      }
      expect(prefixes.size).toBe(hostile.length);
      expect(await admin((redis) => redis.get(canary))).toBe('alive');
    });

    it('refuses stored state that would widen the key pattern', async () => {
      const app = unique('tamper');
      for (const prefix of ['*', 'paved_x*', 'paved_x', 'paved_x:*']) {
        const tampered: RedisState = { version: 1, prefix, loginBase: 'paved_x', login: { current: 1 } };
        await expect(
          driver.provision(request(app, 'c', { previousState: tampered }), live()),
        ).rejects.toMatchObject({
          code: 'INVALID_INPUT',
        });
        await expect(
          driver.deprovision(deprovisionRequest(app, 'c', tampered), live()),
        ).rejects.toMatchObject({
          code: 'INVALID_INPUT',
        });
      }
      expect(await admin((redis) => redis.get(canary))).toBe('alive');
    });
  });
});
