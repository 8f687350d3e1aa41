import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import {
  type CredentialsRequest,
  type DeprovisionRequest,
  type ProvisionRequest,
  type ProvisionResult,
  type ResourceDriver,
  type ResourceRef,
} from '@paved/core';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { parseDriverInputs } from '../support/parse-driver-inputs.js';
import {
  defaultDumpDir,
  dumpFile,
  serverStep,
  type ServerFailureKind,
  type ServerRef,
} from '../support/server-operations.js';
import {
  currentCredentials,
  loginName,
  loginSlotsSchema,
  logRotation,
  parseDriverState,
  provisionLogin,
  requireProvisionedState,
  requireSecretInputs,
  startRotation,
  type LoginSlots,
} from '../support/shared-credentials.js';
import { checkSharedName, SHARED_NAME_LIMITS, sharedName } from '../support/shared-names.js';

export const REDIS_DRIVER_ID = 'redis';

const port = z.number().int().min(1).max(65535);

const inputs = z.strictObject({
  host: z.string().min(1),
  port: port.default(6379),
  /** An ACL user allowed the @admin commands (ACL SETUSER, ACL DELUSER, CONFIG GET); `default` unless given. */
  adminUser: z.string().min(1).default('default'),
  /** Secret input; absent where the admin user needs no password. */
  adminPassword: z.string().optional(),
  tls: z.boolean().default(false),
  workloadHost: z.string().min(1).optional(),
  workloadPort: port.optional(),
  /** How long connecting may take. */
  connectTimeoutSeconds: z.number().int().min(1).max(300).default(10),
  /** How long any one command may take. */
  timeoutSeconds: z.number().int().min(1).max(3600).default(60),
});
type RedisInputs = z.output<typeof inputs>;

const stateSchema = z.strictObject({
  version: z.literal(1),
  /** The key prefix, ending in `:`; channels share it. */
  prefix: z.string(),
  loginBase: z.string(),
  login: loginSlotsSchema,
});
export type RedisState = z.output<typeof stateSchema>;

export interface RedisDriverOptions {
  /** Where deprovisioning writes the dump of the resource's keys when the request names no directory. */
  dumpDir?: string;
}

/**
 * What a resource's user may run, after its keys (`~<prefix>*`) and channels (`&<prefix>*`):
 * reading and writing data of every type, transactions, blocking pops, pub/sub and Lua scripts
 * (whose commands Redis checks against the same rules). Denied: everything @admin and @dangerous
 * (CONFIG, FLUSHALL, KEYS, DEBUG, MONITOR, CLIENT LIST/KILL, ACL …), and what would let one tenant
 * see or touch another's data despite the key pattern: SCAN, RANDOMKEY and DBSIZE (not filtered by
 * the pattern), PUBSUB (lists every channel), SELECT, MOVE and SWAPDB (other databases), FUNCTION
 * and FCALL (a library namespace shared by all users), SCRIPT FLUSH and SCRIPT KILL.
 */
export const REDIS_COMMAND_RULES = [
  '-@all',
  '+@read',
  '+@write',
  '+@keyspace',
  '+@string',
  '+@hash',
  '+@list',
  '+@set',
  '+@sortedset',
  '+@stream',
  '+@bitmap',
  '+@hyperloglog',
  '+@geo',
  '+@pubsub',
  '+@transaction',
  '+@connection',
  '+@blocking',
  '+@scripting',
  '+time',
  '-@admin',
  '-@dangerous',
  '-scan',
  '-randomkey',
  '-dbsize',
  '-pubsub',
  '-select',
  '-move',
  '-swapdb',
  '-function',
  '-fcall',
  '-fcall_ro',
  '-script|flush',
  '-script|kill',
  '-script|debug',
] as const;

/** Users and the prefix fit Redis's (absent) limit readably: `<base>_1` at most 128 characters. */
const BASE_LIMIT = SHARED_NAME_LIMITS.redis - 2;

interface Target {
  config: RedisInputs;
  ref: ServerRef;
}

function target(request: { inputs: ProvisionRequest['inputs'] }, extraSecrets: string[] = []): Target {
  const config = parseDriverInputs(REDIS_DRIVER_ID, inputs, request.inputs);
  requireSecretInputs(REDIS_DRIVER_ID, request.inputs, ['adminPassword']);
  return {
    config,
    ref: {
      driver: REDIS_DRIVER_ID,
      server: `Redis at ${config.host}:${config.port}`,
      adminUser: config.adminUser,
      secrets: [config.adminPassword, ...extraSecrets],
    },
  };
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNRESET',
]);

function classify(error: unknown): ServerFailureKind {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  if (typeof code === 'string' && UNREACHABLE.has(code)) return 'unreachable';
  if (code === 'ETIMEDOUT' || /timeout/i.test(message)) return 'timeout';
  if (/^(WRONGPASS|NOAUTH)/.test(message)) return 'authentication';
  if (/^NOPERM/.test(message)) return 'privilege';
  if (/Connection is closed|ended|closed/i.test(message)) return 'unreachable';
  return 'failed';
}

const PRIVILEGE_FIX =
  "give the admin user the @admin commands (ACL SETUSER <user> +@admin), or set the definition's adminUser to one that has them";

class AdminSession {
  readonly #client: Redis;
  readonly #target: Target;
  readonly #signal: AbortSignal;

  private constructor(client: Redis, target: Target, signal: AbortSignal) {
    this.#client = client;
    this.#target = target;
    this.#signal = signal;
  }

  static async open<T>(
    where: Target,
    signal: AbortSignal,
    work: (session: AdminSession) => Promise<T>,
  ): Promise<T> {
    signal.throwIfAborted();
    const { config, ref } = where;
    const client = new Redis({
      host: config.host,
      port: config.port,
      ...(config.tls ? { tls: {} } : {}),
      lazyConnect: true,
      // Fail instead of retrying forever: the deployment reports the error and the next one retries.
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      enableReadyCheck: false,
      connectTimeout: (config.connectTimeoutSeconds + 5) * 1000,
    });
    client.on('error', () => undefined);
    const stop = (): void => client.disconnect();
    try {
      await serverStep(
        { ref, signal, seconds: config.connectTimeoutSeconds, doing: 'connect', stop, classify },
        client.connect(),
      );
      const session = new AdminSession(client, where, signal);
      // AUTH as a command of its own, so a refusal comes back as its answer (a nopass user takes any password).
      if (config.adminPassword !== undefined || config.adminUser !== 'default') {
        await session.call('connect', ['AUTH', config.adminUser, config.adminPassword ?? '']);
      }
      await session.call('connect', ['PING']);
      return await work(session);
    } finally {
      stop();
    }
  }

  async call(doing: string, args: readonly (string | number)[], fix?: string): Promise<unknown> {
    const [command, ...rest] = args;
    return serverStep(
      {
        ref: this.#target.ref,
        signal: this.#signal,
        seconds: this.#target.config.timeoutSeconds,
        doing,
        stop: () => this.#client.disconnect(),
        classify,
        fix,
      },
      this.#client.call(String(command), ...rest),
    );
  }

  async callBuffer(doing: string, args: readonly string[]): Promise<unknown> {
    const [command, ...rest] = args;
    return serverStep(
      {
        ref: this.#target.ref,
        signal: this.#signal,
        seconds: this.#target.config.timeoutSeconds,
        doing,
        stop: () => this.#client.disconnect(),
        classify,
      },
      this.#client.callBuffer(String(command), ...rest),
    );
  }
}

/** Escapes the glob characters of Redis patterns. */
function literalPattern(text: string): string {
  return text.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}

function userRules(prefix: string, password: string): string[] {
  const pattern = `${literalPattern(prefix)}*`;
  // The password is sent as its SHA-256, so the server's logs never see it.
  const hash = createHash('sha256').update(password, 'utf8').digest('hex');
  return ['reset', 'on', `#${hash}`, `~${pattern}`, `&${pattern}`, ...REDIS_COMMAND_RULES];
}

interface Names {
  prefix: string;
  loginBase: string;
}

function namesFor(
  request: { resource: ResourceRef; context: { app: string; env: string } },
  state: RedisState | undefined,
): Names {
  if (state !== undefined) {
    // The prefix is a name Paved makes and a colon; anything else would widen the key pattern.
    const prefixBase = state.prefix.endsWith(':') ? state.prefix.slice(0, -1) : `${state.prefix}\u0000`;
    checkSharedName(prefixBase, BASE_LIMIT, 'key prefix');
    return { prefix: state.prefix, loginBase: checkSharedName(state.loginBase, BASE_LIMIT, 'user name') };
  }
  const base = sharedName(
    { app: request.context.app, env: request.context.env, resource: request.resource },
    BASE_LIMIT,
  );
  return { prefix: `${base}:`, loginBase: base };
}

async function setUser(session: AdminSession, user: string, prefix: string, password: string): Promise<void> {
  await session.call(
    `create ACL user "${user}"`,
    ['ACL', 'SETUSER', user, ...userRules(prefix, password)],
    PRIVILEGE_FIX,
  );
}

/** Writes the ACL file when the server has one; otherwise says users live in memory only. */
async function saveAcl(
  session: AdminSession,
  ref: ServerRef,
  log?: (message: string) => void,
): Promise<void> {
  try {
    await session.call('save the ACL users', ['ACL', 'SAVE']);
  } catch (error) {
    if (!/not configured to use an ACL file/i.test(String((error as Error).cause ?? error))) throw error;
    log?.(
      `${ref.server} has no ACL file: the users Paved made live in its memory only, and a restart of Redis loses them until the next deploy provisions them again`,
    );
  }
}

async function warnIfOpen(
  session: AdminSession,
  ref: ServerRef,
  log?: (message: string) => void,
): Promise<void> {
  try {
    const info = (await session.call('read the default user', ['ACL', 'GETUSER', 'default'])) as
      unknown[] | null;
    const flagsAt = info?.indexOf('flags') ?? -1;
    const flags = flagsAt >= 0 ? (info?.[flagsAt + 1] as unknown[]) : [];
    if (Array.isArray(flags) && flags.includes('on') && flags.includes('nopass')) {
      log?.(
        `the default user of ${ref.server} needs no password, so any client is an administrator there and the per-resource users isolate nothing: ` +
          'give it a password (requirepass) or turn it off (ACL SETUSER default off)',
      );
    }
  } catch {
    // An admin that may not read users is told elsewhere, when it may not write them.
  }
}

function result(config: RedisInputs, names: Names, login: LoginSlots, password: string): ProvisionResult {
  const state: RedisState = { version: 1, ...names, login };
  return {
    outputs: {
      host: config.workloadHost ?? config.host,
      port: config.workloadPort ?? config.port,
      prefix: names.prefix,
    },
    secrets: { username: loginName(names.loginBase, login.current), password },
    state,
  };
}

function stateOf(uid: string, state: unknown): RedisState | undefined {
  return parseDriverState(REDIS_DRIVER_ID, uid, stateSchema, state);
}

function requireState(request: CredentialsRequest): RedisState {
  return requireProvisionedState(REDIS_DRIVER_ID, request, stateOf);
}

async function provision(request: ProvisionRequest, signal: AbortSignal): Promise<ProvisionResult> {
  signal.throwIfAborted();
  const previous = stateOf(request.resource.uid, request.previousState);
  const names = namesFor(request, previous);
  const { login, username: user, password } = provisionLogin(request, names.loginBase, previous);
  const where = target(request, [password]);
  await AdminSession.open(where, signal, async (session) => {
    await warnIfOpen(session, where.ref, request.log);
    await setUser(session, user, names.prefix, password);
    await saveAcl(session, where.ref, request.log);
  });
  return result(where.config, names, login, password);
}

/** The number of databases the server has (keys a user wrote before SELECT was denied may sit anywhere). */
async function databases(session: AdminSession): Promise<number> {
  try {
    const reply = (await session.call('read the number of databases', [
      'CONFIG',
      'GET',
      'databases',
    ])) as unknown[];
    const count = Number(reply[1]);
    return Number.isInteger(count) && count > 0 ? count : 1;
  } catch {
    return 1;
  }
}

async function write(stream: WriteStream, line: string): Promise<void> {
  if (!stream.write(line)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
}

/**
 * Dumps (DUMP + PTTL, one JSON line per key: database, key, TTL in ms or -1, the DUMP payload in
 * base64 — what RESTORE takes back) and then unlinks every key under the prefix, in every database.
 */
async function dumpAndRemoveKeys(session: AdminSession, prefix: string, file: string): Promise<number> {
  const stream = createWriteStream(file, { mode: 0o600 });
  const closed = new Promise<void>((resolve, reject) => {
    stream.on('close', () => resolve());
    stream.on('error', reject);
  });
  let removed = 0;
  try {
    const count = await databases(session);
    for (let db = 0; db < count; db += 1) {
      await session.call(`select database ${db}`, ['SELECT', db]);
      let cursor = '0';
      do {
        const [next, keys] = (await session.call(`scan database ${db}`, [
          'SCAN',
          cursor,
          'MATCH',
          `${literalPattern(prefix)}*`,
          'COUNT',
          1000,
        ])) as [string, string[]];
        cursor = next;
        for (const key of keys) {
          const payload = (await session.callBuffer(`dump key "${key}"`, ['DUMP', key])) as Buffer | null;
          if (payload === null) continue;
          const ttl = Number(await session.call(`read the TTL of "${key}"`, ['PTTL', key]));
          await write(stream, `${JSON.stringify({ db, key, ttl, value: payload.toString('base64') })}\n`);
        }
        if (keys.length > 0) {
          removed += Number(await session.call(`unlink keys of database ${db}`, ['UNLINK', ...keys]));
        }
      } while (cursor !== '0');
    }
  } catch (error) {
    stream.destroy();
    await closed.catch(() => undefined);
    await rm(file, { force: true });
    throw error;
  }
  stream.end();
  await closed;
  return removed;
}

async function deprovision(
  request: DeprovisionRequest,
  signal: AbortSignal,
  options: RedisDriverOptions,
): Promise<void> {
  signal.throwIfAborted();
  const names = namesFor(request, stateOf(request.resource.uid, request.state));
  const where = target(request);
  await AdminSession.open(where, signal, async (session) => {
    // Users first, so nothing writes new keys while they are removed; deleting a user ends its connections.
    await session.call(
      'delete the ACL users',
      ['ACL', 'DELUSER', loginName(names.loginBase, 1), loginName(names.loginBase, 2)],
      PRIVILEGE_FIX,
    );
    const file = await dumpFile(
      request.dumpDir ?? options.dumpDir ?? defaultDumpDir(),
      names.loginBase,
      'redis.jsonl',
    );
    const removed = await dumpAndRemoveKeys(session, names.prefix, file);
    if (removed === 0) await rm(file, { force: true });
    else request.log?.(`dumped ${removed} key(s) under "${names.prefix}" to ${file}`);
    await saveAcl(session, where.ref, request.log);
  });
  request.log?.(`removed the users and keys of "${names.prefix}" on ${where.ref.server}`);
}

async function rotateCredentials(request: CredentialsRequest, signal: AbortSignal): Promise<ProvisionResult> {
  signal.throwIfAborted();
  const state = requireState(request);
  const { next, password } = startRotation(REDIS_DRIVER_ID, request, state, 'user');
  const names = namesFor(request, state);
  const where = target(request, [password]);
  await AdminSession.open(where, signal, async (session) => {
    await setUser(session, loginName(names.loginBase, next), names.prefix, password);
    await saveAcl(session, where.ref, request.log);
  });
  logRotation(request, 'user', names.loginBase, next);
  return result(where.config, names, { current: next, previous: state.login.current }, password);
}

async function revokePreviousCredentials(
  request: CredentialsRequest,
  signal: AbortSignal,
): Promise<ProvisionResult> {
  signal.throwIfAborted();
  const state = requireState(request);
  const names = namesFor(request, state);
  const { password } = currentCredentials(REDIS_DRIVER_ID, request, state, 'user');
  const where = target(request, [password]);
  const previous = state.login.previous;
  if (previous !== undefined) {
    const old = loginName(names.loginBase, previous);
    await AdminSession.open(where, signal, async (session) => {
      // Deleting a user ends its connections too; the next rotation creates it afresh.
      await session.call(`delete ACL user "${old}"`, ['ACL', 'DELUSER', old], PRIVILEGE_FIX);
      await saveAcl(session, where.ref, request.log);
    });
    request.log?.(`revoked user "${old}" and ended its connections`);
  }
  return result(where.config, names, { current: state.login.current }, password);
}

/**
 * `redis` on an existing Redis 7 server: per resource an ACL user limited to the keys and channels
 * under its own prefix (`paved_<app>_<env>_<resource>_<hash>:`, output `prefix`) and to the
 * commands of `REDIS_COMMAND_RULES`, with a generated password. Deprovisioning deletes the users,
 * writes every key under the prefix to a dump file (DUMP payloads RESTORE takes back), and
 * unlinks them. Credentials rotate in two steps through a second user.
 *
 * @example
 * const driver = createRedisDriver();
 * const { outputs, secrets } = await driver.provision({ resource, context, inputs: { values: { host: 'cache.internal' }, secrets: { adminPassword } } }, signal);
 * // a workload connects as secrets.username and keeps every key under outputs.prefix
 */
export function createRedisDriver(options: RedisDriverOptions = {}): ResourceDriver {
  return {
    id: REDIS_DRIVER_ID,
    inputs,
    secretInputs: ['adminPassword'],
    stateful: true,
    outputNames: () => ({ values: ['host', 'port', 'prefix'], secrets: ['username', 'password'] }),
    provision,
    deprovision: (request, signal) => deprovision(request, signal, options),
    rotateCredentials,
    revokePreviousCredentials,
  };
}
