import {
  PavedError,
  type CredentialsRequest,
  type DeprovisionRequest,
  type ProvisionRequest,
  type ProvisionResult,
  type ResourceDriver,
  type ResourceRef,
} from '@paved/core';
import pg from 'pg';
import { z } from 'zod';
import { parseDriverInputs } from '../support/parse-driver-inputs.js';
import {
  defaultDumpDir,
  dumpFile,
  findExecutable,
  runDumpTool,
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
  requireProvisionedState,
  requireSecretInputs,
  startRotation,
  type LoginSlots,
} from '../support/shared-credentials.js';
import { checkSharedName, SHARED_NAME_LIMITS, sharedName } from '../support/shared-names.js';
import { scramSha256Verifier } from './scram-verifier.js';

export const POSTGRES_DRIVER_ID = 'postgres';

const port = z.number().int().min(1).max(65535);

const inputs = z.strictObject({
  /** The server, as the Paved server reaches it. */
  host: z.string().min(1),
  port: port.default(5432),
  /** A role with CREATEDB and CREATEROLE (or a superuser). */
  adminUser: z.string().min(1).default('postgres'),
  /** Secret input; absent where the server trusts the Paved server's address. */
  adminPassword: z.string().optional(),
  /** The database the admin connects to. */
  database: z.string().min(1).default('postgres'),
  sslmode: z.enum(['disable', 'require', 'verify-ca', 'verify-full']).default('disable'),
  /** The address workloads connect to, when it differs from `host` (e.g. from containers). */
  workloadHost: z.string().min(1).optional(),
  workloadPort: port.optional(),
  /** How long connecting may take. */
  connectTimeoutSeconds: z.number().int().min(1).max(300).default(10),
  /** How long any one statement may take (the dump on deprovision has no limit). */
  timeoutSeconds: z.number().int().min(1).max(3600).default(60),
});
type PostgresInputs = z.output<typeof inputs>;

const stateSchema = z.strictObject({
  version: z.literal(1),
  database: z.string(),
  owner: z.string(),
  loginBase: z.string(),
  login: loginSlotsSchema,
});
export type PostgresState = z.output<typeof stateSchema>;

export interface PostgresDriverOptions {
  /** Where deprovisioning writes `pg_dump` files when the request names no directory. */
  dumpDir?: string;
  /** The `pg_dump` to run; the first on the PATH unless given. */
  pgDump?: string;
}

const LIMIT = SHARED_NAME_LIMITS.postgres;

interface Target {
  config: PostgresInputs;
  ref: ServerRef;
}

function target(request: { inputs: ProvisionRequest['inputs'] }, extraSecrets: string[] = []): Target {
  const config = parseDriverInputs(POSTGRES_DRIVER_ID, inputs, request.inputs);
  requireSecretInputs(POSTGRES_DRIVER_ID, request.inputs, ['adminPassword']);
  return {
    config,
    ref: {
      driver: POSTGRES_DRIVER_ID,
      server: `PostgreSQL at ${config.host}:${config.port}`,
      adminUser: config.adminUser,
      secrets: [config.adminPassword, ...extraSecrets],
    },
  };
}

function ssl(mode: PostgresInputs['sslmode']): pg.ClientConfig['ssl'] {
  switch (mode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true };
  }
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
]);

function classify(error: unknown): ServerFailureKind {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  if (typeof code === 'string' && UNREACHABLE.has(code)) return 'unreachable';
  if (code === 'ETIMEDOUT' || /timeout/i.test(message)) return 'timeout';
  if (/terminated unexpectedly|ECONNRESET/i.test(message)) return 'unreachable';
  if (code === '28P01' || code === '28000' || /client password must be a string/.test(message))
    return 'authentication';
  if (code === '42501') return 'privilege';
  return 'failed';
}

/** An admin connection whose every statement is cancellable, time-limited and fails with a clear error. */
class AdminSession {
  readonly #client: pg.Client;
  readonly #target: Target;
  readonly #signal: AbortSignal;
  readonly #close: () => void;

  private constructor(client: pg.Client, target: Target, signal: AbortSignal) {
    this.#client = client;
    this.#target = target;
    this.#signal = signal;
    this.#close = () => void client.end().catch(() => undefined);
  }

  static async open<T>(
    where: Target,
    signal: AbortSignal,
    work: (session: AdminSession) => Promise<T>,
  ): Promise<T> {
    signal.throwIfAborted();
    const { config, ref } = where;
    const client = new pg.Client({
      host: config.host,
      port: config.port,
      user: config.adminUser,
      database: config.database,
      ...(config.adminPassword === undefined ? {} : { password: config.adminPassword }),
      ssl: ssl(config.sslmode),
      application_name: 'paved',
    });
    // A connection lost between statements surfaces on the next one; keep it from crashing the process.
    client.on('error', () => undefined);
    const session = new AdminSession(client, where, signal);
    try {
      await serverStep(
        {
          ref,
          signal,
          seconds: config.connectTimeoutSeconds,
          doing: 'connect',
          stop: session.#close,
          classify,
          fix: undefined,
        },
        client.connect(),
      ).catch((error: unknown) => {
        // The admin database named in the inputs does not exist.
        const cause =
          error instanceof PavedError ? (error.cause as { code?: unknown } | undefined) : undefined;
        if (cause?.code === '3D000') {
          throw serverFailure(
            ref,
            'failed',
            'connect',
            cause,
            `check the definition's input database (the database the admin connects to, "postgres" unless given)`,
          );
        }
        throw error;
      });
      return await work(session);
    } finally {
      session.#close();
    }
  }

  /** Runs one statement; `doing` says what it does, for the error ("create role …"). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    doing: string,
    sql: string,
    params: unknown[] = [],
    fix?: string,
  ): Promise<pg.QueryResult<R>> {
    return serverStep(
      {
        ref: this.#target.ref,
        signal: this.#signal,
        seconds: this.#target.config.timeoutSeconds,
        doing,
        stop: this.#close,
        classify,
        fix,
      },
      this.#client.query<R>(sql, params),
    );
  }

  async exists(sql: string, value: string): Promise<boolean> {
    const result = await this.query('look up what exists', sql, [value]);
    return (result.rowCount ?? 0) > 0;
  }
}

const id = (name: string): string => pg.escapeIdentifier(name);
const literal = (text: string): string => pg.escapeLiteral(text);

interface Names {
  database: string;
  owner: string;
  loginBase: string;
}

function namesFor(
  request: { resource: ResourceRef; context: { app: string; env: string } },
  state: PostgresState | undefined,
): Names {
  if (state !== undefined) {
    // Names recorded at first provisioning stay, even if the naming rule changes.
    return {
      database: checkSharedName(state.database, LIMIT, 'database name'),
      owner: checkSharedName(state.owner, LIMIT, 'owner role name'),
      loginBase: checkSharedName(state.loginBase, LIMIT - 2, 'login role name'),
    };
  }
  const source = { app: request.context.app, env: request.context.env, resource: request.resource };
  const database = sharedName(source, LIMIT);
  return { database, owner: database, loginBase: sharedName(source, LIMIT - 2) };
}

const PRIVILEGE_FIX =
  "give the admin role CREATEDB and CREATEROLE (ALTER ROLE … CREATEDB CREATEROLE), or set the definition's adminUser to a role that has them";

async function ensureOwner(session: AdminSession, owner: string): Promise<void> {
  if (!(await session.exists('SELECT 1 FROM pg_roles WHERE rolname = $1', owner))) {
    await session.query(`create role "${owner}"`, `CREATE ROLE ${id(owner)} NOLOGIN`, [], PRIVILEGE_FIX);
  }
  const admin = await session.query<{ rolsuper: boolean }>(
    'read the admin role',
    'SELECT rolsuper FROM pg_roles WHERE rolname = current_user',
  );
  // A non-superuser admin must be a member of the owner to create a database owned by it and to
  // dump it later.
  if (admin.rows[0]?.rolsuper !== true) {
    await session.query(
      `grant role "${owner}" to the admin`,
      `GRANT ${id(owner)} TO CURRENT_USER`,
      [],
      PRIVILEGE_FIX,
    );
  }
}

/** Creates or updates a login: a member of the owner whose sessions act as the owner. */
async function ensureLogin(
  session: AdminSession,
  login: string,
  owner: string,
  password: string,
): Promise<void> {
  const attributes = `LOGIN NOCREATEDB NOCREATEROLE INHERIT PASSWORD ${literal(scramSha256Verifier(password))}`;
  const exists = await session.exists('SELECT 1 FROM pg_roles WHERE rolname = $1', login);
  await session.query(
    `${exists ? 'update' : 'create'} login role "${login}"`,
    `${exists ? 'ALTER' : 'CREATE'} ROLE ${id(login)} WITH ${attributes}`,
    [],
    PRIVILEGE_FIX,
  );
  await session.query(
    `grant role "${owner}" to "${login}"`,
    `GRANT ${id(owner)} TO ${id(login)}`,
    [],
    PRIVILEGE_FIX,
  );
  // Whatever a login creates is owned by the owner, so a rotation to the other login changes nothing.
  await session.query(
    `make "${login}" act as "${owner}"`,
    `ALTER ROLE ${id(login)} SET role = ${literal(owner)}`,
    [],
    PRIVILEGE_FIX,
  );
}

async function ensureDatabase(session: AdminSession, database: string, owner: string): Promise<void> {
  if (await session.exists('SELECT 1 FROM pg_database WHERE datname = $1', database)) {
    await session.query(
      `give database "${database}" to "${owner}"`,
      `ALTER DATABASE ${id(database)} OWNER TO ${id(owner)}`,
      [],
      PRIVILEGE_FIX,
    );
  } else {
    await session.query(
      `create database "${database}"`,
      `CREATE DATABASE ${id(database)} OWNER ${id(owner)}`,
      [],
      PRIVILEGE_FIX,
    );
  }
  // Every role may connect to a new database by default; only the owner (and its logins) may here.
  await session.query(
    `restrict who connects to "${database}"`,
    `REVOKE ALL ON DATABASE ${id(database)} FROM PUBLIC`,
    [],
    PRIVILEGE_FIX,
  );
}

function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function result(config: PostgresInputs, names: Names, login: LoginSlots, password: string): ProvisionResult {
  const host = config.workloadHost ?? config.host;
  const portNumber = config.workloadPort ?? config.port;
  const username = loginName(names.loginBase, login.current);
  const query = config.sslmode === 'disable' ? '' : `?sslmode=${config.sslmode}`;
  const uri =
    `postgresql://${encodeURIComponent(username)}:${encodeURIComponent(password)}` +
    `@${bracketed(host)}:${portNumber}/${encodeURIComponent(names.database)}${query}`;
  const state: PostgresState = { version: 1, ...names, login };
  return {
    outputs: { host, port: portNumber, name: names.database, database: names.database },
    secrets: { username, password, uri },
    state,
  };
}

function stateOf(uid: string, state: unknown): PostgresState | undefined {
  return parseDriverState(POSTGRES_DRIVER_ID, uid, stateSchema, state);
}

function requireState(request: CredentialsRequest): PostgresState {
  return requireProvisionedState(POSTGRES_DRIVER_ID, request, stateOf);
}

async function provision(request: ProvisionRequest, signal: AbortSignal): Promise<ProvisionResult> {
  signal.throwIfAborted();
  const previous = stateOf(request.resource.uid, request.previousState);
  const names = namesFor(request, previous);
  const { login, username, password } = provisionLogin(request, names.loginBase, previous);
  const where = target(request, [password]);
  await AdminSession.open(where, signal, async (session) => {
    await ensureOwner(session, names.owner);
    await ensureLogin(session, username, names.owner, password);
    await ensureDatabase(session, names.database, names.owner);
  });
  return result(where.config, names, login, password);
}

async function deprovision(
  request: DeprovisionRequest,
  signal: AbortSignal,
  options: PostgresDriverOptions,
): Promise<void> {
  signal.throwIfAborted();
  const names = namesFor(request, stateOf(request.resource.uid, request.state));
  const where = target(request);
  const { config, ref } = where;
  await AdminSession.open(where, signal, async (session) => {
    if (await session.exists('SELECT 1 FROM pg_database WHERE datname = $1', names.database)) {
      const pgDump = options.pgDump ?? (await findExecutable(['pg_dump']));
      if (pgDump === undefined) {
        throw new PavedError(
          'DRIVER_FAILED',
          `driver "postgres": pg_dump is not installed on the Paved server, so database "${names.database}" on ${ref.server} cannot be dumped before it is dropped: ` +
            'install the PostgreSQL client (apt-get install postgresql-client), then delete again',
          { details: { driver: POSTGRES_DRIVER_ID, server: ref.server } },
        );
      }
      const file = await dumpFile(
        request.dumpDir ?? options.dumpDir ?? defaultDumpDir(),
        names.database,
        'dump',
      );
      try {
        await runDumpTool(
          pgDump,
          [
            '--format=custom',
            '--no-password',
            `--file=${file}`,
            `--host=${config.host}`,
            `--port=${config.port}`,
            `--username=${config.adminUser}`,
            `--dbname=${names.database}`,
          ],
          {
            env: {
              ...(config.adminPassword === undefined ? {} : { PGPASSWORD: config.adminPassword }),
              PGSSLMODE: config.sslmode,
              PGCONNECT_TIMEOUT: String(config.connectTimeoutSeconds),
            },
            output: file,
            secrets: ref.secrets,
            signal,
          },
        );
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw serverFailure(
          ref,
          'failed',
          `dump database "${names.database}" with pg_dump`,
          error,
          'nothing was dropped; fix the reason and delete again',
        );
      }
      request.log?.(`dumped database "${names.database}" to ${file}`);
      await session.query(
        `end the sessions of database "${names.database}"`,
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [names.database],
      );
      await session.query(
        `drop database "${names.database}"`,
        `DROP DATABASE IF EXISTS ${id(names.database)}`,
        [],
        PRIVILEGE_FIX,
      );
    }
    const roles = [loginName(names.loginBase, 1), loginName(names.loginBase, 2), names.owner];
    for (const role of roles) {
      await session.query(
        `drop role "${role}"`,
        `DROP ROLE IF EXISTS ${id(role)}`,
        [],
        `the role still owns or holds privileges on objects outside its database; reassign or drop them (REASSIGN OWNED BY / DROP OWNED BY "${role}" in each database), then delete again`,
      );
    }
  });
  request.log?.(`dropped database "${names.database}" and its roles on ${ref.server}`);
}

async function rotateCredentials(request: CredentialsRequest, signal: AbortSignal): Promise<ProvisionResult> {
  signal.throwIfAborted();
  const state = requireState(request);
  const { next, password } = startRotation(POSTGRES_DRIVER_ID, request, state, 'login');
  const names = namesFor(request, state);
  const where = target(request, [password]);
  await AdminSession.open(where, signal, (session) =>
    ensureLogin(session, loginName(names.loginBase, next), names.owner, password),
  );
  logRotation(request, 'login', names.loginBase, next);
  return result(where.config, names, { current: next, previous: state.login.current }, password);
}

async function revokePreviousCredentials(
  request: CredentialsRequest,
  signal: AbortSignal,
): Promise<ProvisionResult> {
  signal.throwIfAborted();
  const state = requireState(request);
  const names = namesFor(request, state);
  const { password } = currentCredentials(POSTGRES_DRIVER_ID, request, state, 'login');
  const where = target(request, [password]);
  const previous = state.login.previous;
  if (previous !== undefined) {
    const old = loginName(names.loginBase, previous);
    await AdminSession.open(where, signal, async (session) => {
      await session.query(
        `disable login role "${old}"`,
        `ALTER ROLE ${id(old)} WITH NOLOGIN PASSWORD NULL`,
        [],
        PRIVILEGE_FIX,
      );
      await session.query(
        `end the sessions of "${old}"`,
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1',
        [old],
      );
    });
    request.log?.(`revoked login "${old}" and ended its sessions`);
  }
  return result(where.config, names, { current: state.login.current }, password);
}

/**
 * `postgres` on an existing PostgreSQL server: per resource a database, an owner role (NOLOGIN)
 * owning it, and a login role acting as the owner, with a generated password. Nobody else may
 * connect to the database (CONNECT revoked from PUBLIC). Provisioning again changes nothing, the
 * password included, when the previous secret outputs are handed back. Deprovisioning dumps the
 * database with `pg_dump` (custom format) into the dump directory, then drops the database and
 * the roles. Credentials rotate in two steps through a second login role.
 *
 * @example
 * const driver = createPostgresDriver({ dumpDir: '/var/lib/paved/dumps' });
 * const { outputs, secrets } = await driver.provision(
 *   { resource, context, inputs: { values: { host: 'db.internal', adminUser: 'paved' }, secrets: { adminPassword } } },
 *   signal,
 * );
 */
export function createPostgresDriver(options: PostgresDriverOptions = {}): ResourceDriver {
  return {
    id: POSTGRES_DRIVER_ID,
    inputs,
    secretInputs: ['adminPassword'],
    stateful: true,
    outputNames: () => ({
      values: ['host', 'port', 'name', 'database'],
      secrets: ['username', 'password', 'uri'],
    }),
    provision,
    deprovision: (request, signal) => deprovision(request, signal, options),
    rotateCredentials,
    revokePreviousCredentials,
  };
}
