import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import {
  type CredentialsRequest,
  type DeprovisionRequest,
  type ProvisionRequest,
  type ProvisionResult,
  type ResourceDriver,
  type ResourceRef,
} from '@paved/core';
import { z } from 'zod';
import { abortableDelay } from '../support/abortable-delay.js';
import { parseDriverInputs } from '../support/parse-driver-inputs.js';
import {
  defaultDumpDir,
  dumpFile,
  serverFailure,
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
  redact,
  requireProvisionedState,
  requireSecretInputs,
  startRotation,
  type LoginSlots,
} from '../support/shared-credentials.js';
import { checkSharedName, SHARED_NAME_LIMITS, sharedName } from '../support/shared-names.js';

export const AMQP_DRIVER_ID = 'amqp';

const port = z.number().int().min(1).max(65535);

const inputs = z.strictObject({
  /** The AMQP server, as workloads reach it unless `workloadHost` says otherwise. */
  host: z.string().min(1),
  port: port.default(5672),
  /** RabbitMQ's management HTTP API; `http://<host>:15672` unless given. */
  managementUrl: z
    .url({
      protocol: /^https?$/,
      error: 'must be an http:// or https:// URL such as http://rabbit.internal:15672',
    })
    .optional(),
  /** A user with the `administrator` tag. */
  adminUser: z.string().min(1).default('guest'),
  /** Secret input: the management API always asks for a password. */
  adminPassword: z.string().min(1),
  workloadHost: z.string().min(1).optional(),
  workloadPort: port.optional(),
  /** How long connecting may take. */
  connectTimeoutSeconds: z.number().int().min(1).max(300).default(10),
  /** How long any one request to the management API may take. */
  timeoutSeconds: z.number().int().min(1).max(3600).default(60),
});
type AmqpInputs = z.output<typeof inputs>;

const stateSchema = z.strictObject({
  version: z.literal(1),
  vhost: z.string(),
  loginBase: z.string(),
  login: loginSlotsSchema,
});
export type AmqpState = z.output<typeof stateSchema>;

export interface AmqpDriverOptions {
  /** Where deprovisioning writes the vhost's definitions when the request names no directory. */
  dumpDir?: string;
}

const LIMIT = SHARED_NAME_LIMITS.rabbitmq;

interface Target {
  config: AmqpInputs;
  api: URL;
  ref: ServerRef;
}

function target(request: { inputs: ProvisionRequest['inputs'] }, extraSecrets: string[] = []): Target {
  const config = parseDriverInputs(AMQP_DRIVER_ID, inputs, request.inputs);
  requireSecretInputs(AMQP_DRIVER_ID, request.inputs, ['adminPassword']);
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const api = new URL(config.managementUrl ?? `http://${host}:15672`);
  if (!api.pathname.endsWith('/')) api.pathname = `${api.pathname}/`;
  return {
    config,
    api,
    ref: {
      driver: AMQP_DRIVER_ID,
      server: `RabbitMQ's management API at ${api.origin}${api.pathname.replace(/\/$/, '')}`,
      adminUser: config.adminUser,
      secrets: [config.adminPassword, ...extraSecrets],
    },
  };
}

/** An HTTP answer that was not a success, carried to `classify`. */
class HttpStatusError extends Error {
  /** The status again, as `code`: the one property the driver error's cause keeps. */
  readonly code: number;

  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`HTTP ${status}${body === '' ? '' : `: ${body.slice(0, 300)}`}`);
    this.code = status;
  }
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
  if (error instanceof HttpStatusError) {
    // A user that logged in but may not use the management API is told 401 as well.
    if (error.status === 401)
      return /not management user/i.test(error.message) ? 'privilege' : 'authentication';
    if (error.status === 403) return 'privilege';
    return 'failed';
  }
  const code = ((error as { cause?: { code?: unknown } } | null)?.cause ?? {}).code;
  if (typeof code === 'string' && UNREACHABLE.has(code)) return 'unreachable';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'timeout';
  return 'failed';
}

function describeFetchError(error: unknown): Error {
  // fetch says only "fetch failed"; the reason is in its cause.
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (error instanceof TypeError && cause instanceof Error) {
    return Object.assign(new Error(`${error.message}: ${cause.message}`), { cause });
  }
  return error instanceof Error ? error : new Error(String(error));
}

const UNREACHABLE_FIX =
  "check the definition's inputs host and managementUrl, and that RabbitMQ runs with its management plugin (rabbitmq-plugins enable rabbitmq_management)";
const PRIVILEGE_FIX =
  "give the admin user the administrator tag (rabbitmqctl set_user_tags <user> administrator), or set the definition's adminUser to one that has it";

/** Closing a connection the statistics still list after it closed: 20 × 500 ms. */
const CLOSE_ATTEMPTS = 20;
const CLOSE_RETRY_MS = 500;

class ManagementApi {
  readonly #target: Target;
  readonly #signal: AbortSignal;

  constructor(target: Target, signal: AbortSignal) {
    this.#target = target;
    this.#signal = signal;
  }

  /** The operation's signal: waits between requests end with it. */
  get signal(): AbortSignal {
    return this.#signal;
  }

  /** One request; 404 is an answer (undefined) where `missingOk`. */
  async request(
    doing: string,
    method: 'GET' | 'PUT' | 'DELETE',
    path: string,
    options: { body?: unknown; missingOk?: boolean; connecting?: boolean } = {},
  ): Promise<unknown> {
    const { config, api, ref } = this.#target;
    const controller = new AbortController();
    const work = async (): Promise<unknown> => {
      let response: Response;
      try {
        response = await fetch(new URL(path, api), {
          method,
          signal: controller.signal,
          headers: {
            authorization: `Basic ${Buffer.from(`${config.adminUser}:${config.adminPassword}`).toString('base64')}`,
            ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        });
      } catch (error) {
        throw describeFetchError(error);
      }
      const text = await response.text();
      if (response.status === 404 && options.missingOk === true) return undefined;
      if (!response.ok) throw new HttpStatusError(response.status, redact(text, ref.secrets));
      if (text === '') return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new Error(`the answer to ${method} ${path} is not JSON (${JSON.stringify(text.slice(0, 80))})`);
      }
    };
    return serverStep(
      {
        ref,
        signal: this.#signal,
        seconds: options.connecting === true ? config.connectTimeoutSeconds : config.timeoutSeconds,
        doing,
        stop: () => controller.abort(),
        classify,
        fix: (kind) =>
          kind === 'unreachable' ? UNREACHABLE_FIX : kind === 'privilege' ? PRIVILEGE_FIX : undefined,
      },
      work(),
    );
  }

  /** Checks the admin can log in and administer, before anything is changed. */
  async checkAdmin(): Promise<void> {
    const { ref } = this.#target;
    const whoami = await this.request('connect', 'GET', 'api/whoami', { connecting: true });
    const tags = (whoami as { tags?: unknown } | undefined)?.tags;
    const list = Array.isArray(tags) ? tags : typeof tags === 'string' ? tags.split(',') : undefined;
    if (list === undefined) {
      throw serverFailure(
        ref,
        'failed',
        'connect',
        new Error("GET api/whoami answered without the user's tags"),
      );
    }
    if (!list.includes('administrator')) {
      throw serverFailure(
        ref,
        'privilege',
        'manage vhosts and users',
        new Error(`its tags are ${JSON.stringify(list)}`),
        PRIVILEGE_FIX,
      );
    }
  }
}

const segment = (name: string): string => encodeURIComponent(name);

/** RabbitMQ's `rabbit_password_hashing_sha256`: base64 of a 4-byte salt and SHA-256(salt + password). */
export function rabbitPasswordHash(password: string, salt = randomBytes(4)): string {
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

interface Names {
  vhost: string;
  loginBase: string;
}

function namesFor(
  request: { resource: ResourceRef; context: { app: string; env: string } },
  state: AmqpState | undefined,
): Names {
  if (state !== undefined) {
    return {
      vhost: checkSharedName(state.vhost, LIMIT, 'vhost name'),
      loginBase: checkSharedName(state.loginBase, LIMIT - 2, 'user name'),
    };
  }
  const source = { app: request.context.app, env: request.context.env, resource: request.resource };
  return { vhost: sharedName(source, LIMIT), loginBase: sharedName(source, LIMIT - 2) };
}

/** A user without tags (no management access) with every permission on the vhost and none elsewhere. */
async function ensureUser(api: ManagementApi, vhost: string, user: string, password: string): Promise<void> {
  await api.request(`create user "${user}"`, 'PUT', `api/users/${segment(user)}`, {
    // The hash, so the password itself never reaches the server.
    body: {
      password_hash: rabbitPasswordHash(password),
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: '',
    },
  });
  await api.request(
    `grant "${user}" vhost "${vhost}"`,
    'PUT',
    `api/permissions/${segment(vhost)}/${segment(user)}`,
    {
      body: { configure: '.*', write: '.*', read: '.*' },
    },
  );
}

async function closeConnections(api: ManagementApi, user: string): Promise<void> {
  const connections = (await api.request(
    `list the connections of "${user}"`,
    'GET',
    'api/connections?columns=name,user',
  )) as { name?: unknown; user?: unknown }[] | undefined;
  for (const connection of connections ?? []) {
    if (connection.user !== user || typeof connection.name !== 'string') continue;
    const path = `api/connections/${segment(connection.name)}`;
    const close = () => api.request(`close a connection of "${user}"`, 'DELETE', path, { missingOk: true });
    // The listing comes from statistics that lag: a connection that closed since may still be
    // listed, and RabbitMQ answers a DELETE of it with HTTP 500 (its process is gone) until the
    // statistics drop it and the answer becomes 404. Asked again for a while before giving up.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await close();
        break;
      } catch (error) {
        const status = ((error as { cause?: { code?: unknown } }).cause ?? {}).code;
        if (status !== 500 || attempt >= CLOSE_ATTEMPTS) throw error;
        await abortableDelay(CLOSE_RETRY_MS, api.signal);
      }
    }
  }
}

function result(config: AmqpInputs, names: Names, login: LoginSlots, password: string): ProvisionResult {
  const state: AmqpState = { version: 1, ...names, login };
  return {
    outputs: {
      host: config.workloadHost ?? config.host,
      port: config.workloadPort ?? config.port,
      vhost: names.vhost,
    },
    secrets: { username: loginName(names.loginBase, login.current), password },
    state,
  };
}

function stateOf(uid: string, state: unknown): AmqpState | undefined {
  return parseDriverState(AMQP_DRIVER_ID, uid, stateSchema, state);
}

function requireState(request: CredentialsRequest): AmqpState {
  return requireProvisionedState(AMQP_DRIVER_ID, request, stateOf);
}

async function provision(request: ProvisionRequest, signal: AbortSignal): Promise<ProvisionResult> {
  signal.throwIfAborted();
  const previous = stateOf(request.resource.uid, request.previousState);
  const names = namesFor(request, previous);
  const { login, username: user, password } = provisionLogin(request, names.loginBase, previous);
  const where = target(request, [password]);
  const api = new ManagementApi(where, signal);
  await api.checkAdmin();
  await api.request(`create vhost "${names.vhost}"`, 'PUT', `api/vhosts/${segment(names.vhost)}`, {
    body: { description: 'provisioned by Paved' },
  });
  await ensureUser(api, names.vhost, user, password);
  return result(where.config, names, login, password);
}

async function deprovision(
  request: DeprovisionRequest,
  signal: AbortSignal,
  options: AmqpDriverOptions,
): Promise<void> {
  signal.throwIfAborted();
  const names = namesFor(request, stateOf(request.resource.uid, request.state));
  const where = target(request);
  const api = new ManagementApi(where, signal);
  await api.checkAdmin();
  const exists = await api.request(
    `look up vhost "${names.vhost}"`,
    'GET',
    `api/vhosts/${segment(names.vhost)}`,
    {
      missingOk: true,
    },
  );
  if (exists !== undefined) {
    const definitions = await api.request(
      `export the definitions of vhost "${names.vhost}"`,
      'GET',
      `api/definitions/${segment(names.vhost)}`,
    );
    const file = await dumpFile(
      request.dumpDir ?? options.dumpDir ?? defaultDumpDir(),
      names.vhost,
      'definitions.json',
    );
    await writeFile(file, `${JSON.stringify(definitions, null, 2)}\n`, { mode: 0o600 });
    request.log?.(
      `wrote the definitions (queues, exchanges, bindings; not messages) of vhost "${names.vhost}" to ${file}`,
    );
  }
  // Deleting the vhost deletes its queues, exchanges and messages and closes its connections.
  await api.request(`delete vhost "${names.vhost}"`, 'DELETE', `api/vhosts/${segment(names.vhost)}`, {
    missingOk: true,
  });
  for (const which of [1, 2] as const) {
    const user = loginName(names.loginBase, which);
    await api.request(`delete user "${user}"`, 'DELETE', `api/users/${segment(user)}`, { missingOk: true });
  }
  request.log?.(`deleted vhost "${names.vhost}" and its users on ${where.ref.server}`);
}

async function rotateCredentials(request: CredentialsRequest, signal: AbortSignal): Promise<ProvisionResult> {
  signal.throwIfAborted();
  const state = requireState(request);
  const { next, password } = startRotation(AMQP_DRIVER_ID, request, state, 'user');
  const names = namesFor(request, state);
  const where = target(request, [password]);
  const api = new ManagementApi(where, signal);
  await api.checkAdmin();
  await ensureUser(api, names.vhost, loginName(names.loginBase, next), password);
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
  const { password } = currentCredentials(AMQP_DRIVER_ID, request, state, 'user');
  const where = target(request, [password]);
  const previous = state.login.previous;
  if (previous !== undefined) {
    const old = loginName(names.loginBase, previous);
    const api = new ManagementApi(where, signal);
    await api.checkAdmin();
    await api.request(`delete user "${old}"`, 'DELETE', `api/users/${segment(old)}`, { missingOk: true });
    await closeConnections(api, old);
    request.log?.(`revoked user "${old}" and closed its connections`);
  }
  return result(where.config, names, { current: state.login.current }, password);
}

/**
 * `amqp` on an existing RabbitMQ, through its management HTTP API: per resource a vhost and a user
 * with configure, write and read permissions on that vhost alone (and no management access), with
 * a generated password. Deprovisioning writes the vhost's definitions (queues, exchanges,
 * bindings, policies — not messages) to the dump directory, then deletes the vhost with
 * everything in it and the users. Credentials rotate in two steps through a second user.
 *
 * @example
 * const driver = createAmqpDriver();
 * await driver.provision({ resource, context, inputs: { values: { host: 'rabbit.internal', adminUser: 'paved' }, secrets: { adminPassword } } }, signal);
 */
export function createAmqpDriver(options: AmqpDriverOptions = {}): ResourceDriver {
  return {
    id: AMQP_DRIVER_ID,
    inputs,
    secretInputs: ['adminPassword'],
    stateful: true,
    outputNames: () => ({ values: ['host', 'port', 'vhost'], secrets: ['username', 'password'] }),
    provision,
    deprovision: (request, signal) => deprovision(request, signal, options),
    rotateCredentials,
    revokePreviousCredentials,
  };
}
