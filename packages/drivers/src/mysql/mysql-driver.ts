import { createHash } from 'node:crypto';
import { rm, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PavedError,
  type CredentialsRequest,
  type DeprovisionRequest,
  type ProvisionRequest,
  type ProvisionResult,
  type ResourceDriver,
  type ResourceRef,
} from '@paved/core';
import mysql from 'mysql2';
import type { Connection as PromiseConnection, RowDataPacket } from 'mysql2/promise';
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
  generatePassword,
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
import {
  checkSharedName,
  SHARED_NAME_LIMITS,
  sharedName,
  type SharedNameSource,
} from '../support/shared-names.js';

export const MYSQL_DRIVER_ID = 'mysql';

const port = z.number().int().min(1).max(65535);

const inputs = z.strictObject({
  host: z.string().min(1),
  port: port.default(3306),
  /** A user with CREATE, DROP, CREATE USER and GRANT OPTION on all databases (root, or one made for Paved). */
  adminUser: z.string().min(1).default('root'),
  /** Secret input; absent for an admin without a password. */
  adminPassword: z.string().optional(),
  sslMode: z.enum(['disabled', 'required', 'verify-identity']).default('disabled'),
  /** The host part of the accounts Paved creates (`'user'@'<userHost>'`). */
  userHost: z
    .string()
    .regex(/^[A-Za-z0-9.%_:-]{1,255}$/, 'must be a MySQL account host such as % or 10.0.%')
    .default('%'),
  workloadHost: z.string().min(1).optional(),
  workloadPort: port.optional(),
  /** How long connecting may take. */
  connectTimeoutSeconds: z.number().int().min(1).max(300).default(10),
  /** How long any one statement may take (the dump on deprovision has no limit). */
  timeoutSeconds: z.number().int().min(1).max(3600).default(60),
});
type MysqlInputs = z.output<typeof inputs>;

const stateSchema = z.strictObject({
  version: z.literal(1),
  database: z.string(),
  loginBase: z.string(),
  /** The accounts' host part, as created. */
  userHost: z.string(),
  flavor: z.enum(['mariadb', 'mysql']),
  login: loginSlotsSchema,
});
export type MysqlState = z.output<typeof stateSchema>;
type Flavor = MysqlState['flavor'];

export interface MysqlDriverOptions {
  /** Where deprovisioning writes dumps when the request names no directory. */
  dumpDir?: string;
  /** The dump tool; `mariadb-dump` or `mysqldump`, whichever the PATH has, unless given. */
  dumpCommand?: string;
}

const USER_LIMIT: Record<Flavor, number> = {
  mariadb: SHARED_NAME_LIMITS.mariadbUser,
  mysql: SHARED_NAME_LIMITS.mysqlUser,
};

interface Target {
  config: MysqlInputs;
  ref: ServerRef;
}

function target(request: { inputs: ProvisionRequest['inputs'] }, extraSecrets: string[] = []): Target {
  const config = parseDriverInputs(MYSQL_DRIVER_ID, inputs, request.inputs);
  requireSecretInputs(MYSQL_DRIVER_ID, request.inputs, ['adminPassword']);
  return {
    config,
    ref: {
      driver: MYSQL_DRIVER_ID,
      server: `MySQL/MariaDB at ${config.host}:${config.port}`,
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
  'PROTOCOL_CONNECTION_LOST',
  'ECONNRESET',
]);
// ER_DBACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR, ER_SPECIFIC_ACCESS_DENIED_ERROR,
// ER_CANT_CREATE_USER_WITH_GRANT.
const PRIVILEGE = new Set([1044, 1142, 1227, 1410]);

function classify(error: unknown): ServerFailureKind {
  const { code, errno } = (error ?? {}) as { code?: unknown; errno?: unknown };
  if (typeof code === 'string' && UNREACHABLE.has(code)) return 'unreachable';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (errno === 1045 || errno === 1698) return 'authentication';
  if (typeof errno === 'number' && PRIVILEGE.has(errno)) return 'privilege';
  return 'failed';
}

const PRIVILEGE_FIX =
  "give the admin user CREATE, DROP, CREATE USER and GRANT OPTION on *.* (as root has), or set the definition's adminUser to one that has them";

class AdminSession {
  readonly flavor: Flavor;
  readonly #connection: PromiseConnection;
  readonly #target: Target;
  readonly #signal: AbortSignal;
  readonly #close: () => void;

  private constructor(connection: mysql.Connection, flavor: Flavor, target: Target, signal: AbortSignal) {
    this.flavor = flavor;
    this.#connection = connection.promise();
    this.#target = target;
    this.#signal = signal;
    this.#close = () => connection.destroy();
  }

  static async open<T>(
    where: Target,
    signal: AbortSignal,
    work: (session: AdminSession) => Promise<T>,
  ): Promise<T> {
    signal.throwIfAborted();
    const { config, ref } = where;
    const connection = mysql.createConnection({
      host: config.host,
      port: config.port,
      user: config.adminUser,
      ...(config.adminPassword === undefined ? {} : { password: config.adminPassword }),
      // Its own limit only backs up ours, which ends the attempt first and says so.
      connectTimeout: (config.connectTimeoutSeconds + 5) * 1000,
      multipleStatements: false,
      ...(config.sslMode === 'disabled'
        ? {}
        : { ssl: { rejectUnauthorized: config.sslMode === 'verify-identity' } }),
    });
    connection.on('error', () => undefined);
    const stop = (): void => connection.destroy();
    try {
      const step = { ref, signal, seconds: config.connectTimeoutSeconds, doing: 'connect', stop, classify };
      await serverStep(
        step,
        new Promise<void>((resolve, reject) => {
          connection.connect((error) => (error ? reject(error) : resolve()));
        }),
      );
      const [rows] = await serverStep(
        { ...step, doing: 'read the server version', seconds: config.timeoutSeconds },
        connection.promise().query<RowDataPacket[]>('SELECT VERSION() AS version'),
      );
      const flavor: Flavor = /mariadb/i.test(String(rows[0]?.version)) ? 'mariadb' : 'mysql';
      return await work(new AdminSession(connection, flavor, where, signal));
    } finally {
      stop();
    }
  }

  async query(doing: string, sql: string, values: unknown[] = [], fix?: string): Promise<RowDataPacket[]> {
    const [rows] = await serverStep(
      {
        ref: this.#target.ref,
        signal: this.#signal,
        seconds: this.#target.config.timeoutSeconds,
        doing,
        stop: this.#close,
        classify,
        fix,
      },
      this.#connection.query(sql, values),
    );
    return Array.isArray(rows) ? (rows as RowDataPacket[]) : [];
  }

  escape(value: string): string {
    return this.#connection.escape(value);
  }

  escapeId(value: string): string {
    return this.#connection.escapeId(value);
  }

  account(user: string, host: string): string {
    return `${this.escape(user)}@${this.escape(host)}`;
  }
}

/** MariaDB's `mysql_native_password` hash: `*` and SHA1(SHA1(password)) in upper-case hex. */
export function mysqlNativePasswordHash(password: string): string {
  const stage1 = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(stage1).digest('hex').toUpperCase()}`;
}

/**
 * In GRANT … ON `db`.*, `_` and `%` in the database name are wildcards: escaped, the grant
 * covers this database alone, not every name that matches it as a pattern.
 */
export function grantDatabasePattern(database: string): string {
  return database.replace(/[\\_%]/g, (char) => `\\${char}`);
}

/**
 * The database name: the longest shared name whose grant pattern (with `_` escaped) still fits
 * the server's 64 characters, which the server checks in GRANT.
 */
function databaseName(source: SharedNameSource): string {
  for (let limit = SHARED_NAME_LIMITS.mysqlDatabase; ; limit -= 1) {
    const name = sharedName(source, limit);
    if (grantDatabasePattern(name).length <= SHARED_NAME_LIMITS.mysqlDatabase) return name;
  }
}

const USER_HOST = /^[A-Za-z0-9.%_:-]{1,255}$/;

function checkUserHost(host: string): string {
  if (USER_HOST.test(host)) return host;
  throw new PavedError(
    'INVALID_INPUT',
    `account host ${JSON.stringify(host)} in the stored state is not one Paved accepts: the resource's stored state was changed outside Paved; restore it`,
  );
}

interface Names {
  database: string;
  loginBase: string;
  userHost: string;
  flavor: Flavor;
}

function namesFor(
  request: { resource: ResourceRef; context: { app: string; env: string } },
  state: MysqlState | undefined,
  flavor: Flavor,
  userHost: string,
): Names {
  if (state !== undefined) {
    return {
      database: checkSharedName(state.database, SHARED_NAME_LIMITS.mysqlDatabase, 'database name'),
      loginBase: checkSharedName(state.loginBase, USER_LIMIT[state.flavor] - 2, 'user name'),
      userHost: checkUserHost(state.userHost),
      flavor: state.flavor,
    };
  }
  const source = { app: request.context.app, env: request.context.env, resource: request.resource };
  return {
    database: databaseName(source),
    loginBase: sharedName(source, USER_LIMIT[flavor] - 2),
    userHost,
    flavor,
  };
}

function identifiedBy(session: AdminSession, password: string): string {
  // MariaDB takes the hash, so the password itself never reaches the server's logs.
  return session.flavor === 'mariadb'
    ? `IDENTIFIED BY PASSWORD ${session.escape(mysqlNativePasswordHash(password))}`
    : `IDENTIFIED BY ${session.escape(password)}`;
}

async function ensureLogin(
  session: AdminSession,
  names: Names,
  user: string,
  password: string,
): Promise<void> {
  const account = session.account(user, names.userHost);
  const identified = identifiedBy(session, password);
  await session.query(
    `create user "${user}"`,
    `CREATE USER IF NOT EXISTS ${account} ${identified}`,
    [],
    PRIVILEGE_FIX,
  );
  // Again for a user that existed: its password and an unlocked account are what this provisioning says.
  await session.query(
    `update user "${user}"`,
    `ALTER USER ${account} ${identified} ACCOUNT UNLOCK`,
    [],
    PRIVILEGE_FIX,
  );
  await session.query(
    `grant "${user}" its database "${names.database}"`,
    `GRANT ALL PRIVILEGES ON ${session.escapeId(grantDatabasePattern(names.database))}.* TO ${account}`,
    [],
    PRIVILEGE_FIX,
  );
}

async function killSessions(session: AdminSession, user: string): Promise<void> {
  const rows = await session.query(
    `list the sessions of "${user}"`,
    'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?',
    [user],
  );
  for (const row of rows) {
    try {
      await session.query(`end a session of "${user}"`, 'KILL CONNECTION ?', [Number(row.id)]);
    } catch {
      // The session ended by itself meanwhile.
    }
  }
}

function result(config: MysqlInputs, names: Names, login: LoginSlots, password: string): ProvisionResult {
  const host = config.workloadHost ?? config.host;
  const portNumber = config.workloadPort ?? config.port;
  const state: MysqlState = { version: 1, ...names, login };
  return {
    outputs: { host, port: portNumber, name: names.database, database: names.database },
    secrets: { username: loginName(names.loginBase, login.current), password },
    state,
  };
}

function stateOf(uid: string, state: unknown): MysqlState | undefined {
  return parseDriverState(MYSQL_DRIVER_ID, uid, stateSchema, state);
}

function requireState(request: CredentialsRequest): MysqlState {
  return requireProvisionedState(MYSQL_DRIVER_ID, request, stateOf);
}

async function provision(request: ProvisionRequest, signal: AbortSignal): Promise<ProvisionResult> {
  signal.throwIfAborted();
  const previous = stateOf(request.resource.uid, request.previousState);
  const fresh = generatePassword();
  const base = target(request, [fresh, request.previousSecrets?.password ?? '']);
  return AdminSession.open(base, signal, async (session) => {
    const names = namesFor(request, previous, session.flavor, base.config.userHost);
    const { login, username: user, password } = provisionLogin(request, names.loginBase, previous, fresh);
    await session.query(
      `create database "${names.database}"`,
      `CREATE DATABASE IF NOT EXISTS ${session.escapeId(names.database)} CHARACTER SET utf8mb4`,
      [],
      PRIVILEGE_FIX,
    );
    await ensureLogin(session, names, user, password);
    return result(base.config, names, login, password);
  });
}

/** An option file for the dump tool: the admin password stays out of its arguments. */
function optionFile(config: MysqlInputs, flavor: Flavor): string {
  const quote = (value: string): string => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const lines = [
    '[client]',
    `user=${quote(config.adminUser)}`,
    `host=${quote(config.host)}`,
    `port=${config.port}`,
  ];
  if (config.adminPassword !== undefined) lines.push(`password=${quote(config.adminPassword)}`);
  if (config.sslMode !== 'disabled') {
    if (flavor === 'mariadb') {
      lines.push('ssl');
      if (config.sslMode === 'verify-identity') lines.push('ssl-verify-server-cert');
    } else {
      lines.push(`ssl-mode=${config.sslMode === 'verify-identity' ? 'VERIFY_IDENTITY' : 'REQUIRED'}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

async function dump(
  request: DeprovisionRequest,
  { config, ref }: Target,
  names: Names,
  options: MysqlDriverOptions,
  signal: AbortSignal,
): Promise<string> {
  const command =
    options.dumpCommand ??
    (await findExecutable(names.flavor === 'mariadb' ? ['mariadb-dump', 'mysqldump'] : ['mysqldump']));
  if (command === undefined) {
    throw new PavedError(
      'DRIVER_FAILED',
      `driver "mysql": neither mariadb-dump nor mysqldump is installed on the Paved server, so database "${names.database}" on ${ref.server} cannot be dumped before it is dropped: ` +
        'install the client (apt-get install mariadb-client), then delete again',
      { details: { driver: MYSQL_DRIVER_ID, server: ref.server } },
    );
  }
  const file = await dumpFile(request.dumpDir ?? options.dumpDir ?? defaultDumpDir(), names.database, 'sql');
  const folder = await mkdtemp(join(tmpdir(), 'paved-mysql-'));
  try {
    const defaults = join(folder, 'client.cnf');
    await writeFile(defaults, optionFile(config, names.flavor), { mode: 0o600 });
    await runDumpTool(
      command,
      [
        `--defaults-extra-file=${defaults}`,
        '--single-transaction',
        '--routines',
        '--events',
        '--triggers',
        `--result-file=${file}`,
        '--databases',
        names.database,
      ],
      { env: {}, output: file, secrets: ref.secrets, signal },
    );
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw serverFailure(
      ref,
      'failed',
      `dump database "${names.database}"`,
      error,
      'nothing was dropped; fix the reason and delete again',
    );
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
  return file;
}

async function deprovision(
  request: DeprovisionRequest,
  signal: AbortSignal,
  options: MysqlDriverOptions,
): Promise<void> {
  signal.throwIfAborted();
  const state = stateOf(request.resource.uid, request.state);
  const where = target(request);
  await AdminSession.open(where, signal, async (session) => {
    const names = namesFor(request, state, session.flavor, where.config.userHost);
    const users = [loginName(names.loginBase, 1), loginName(names.loginBase, 2)];
    const present = await session.query(
      'look up databases',
      'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [names.database],
    );
    if (present.length > 0) {
      const file = await dump(request, where, names, options, signal);
      request.log?.(`dumped database "${names.database}" to ${file}`);
    }
    for (const user of users) await killSessions(session, user);
    await session.query(
      `drop database "${names.database}"`,
      `DROP DATABASE IF EXISTS ${session.escapeId(names.database)}`,
      [],
      PRIVILEGE_FIX,
    );
    for (const user of users) {
      await session.query(
        `drop user "${user}"`,
        `DROP USER IF EXISTS ${session.account(user, names.userHost)}`,
        [],
        PRIVILEGE_FIX,
      );
    }
    request.log?.(`dropped database "${names.database}" and its users on ${where.ref.server}`);
  });
}

async function rotateCredentials(request: CredentialsRequest, signal: AbortSignal): Promise<ProvisionResult> {
  signal.throwIfAborted();
  const state = requireState(request);
  const { next, password } = startRotation(MYSQL_DRIVER_ID, request, state, 'user');
  const where = target(request, [password]);
  return AdminSession.open(where, signal, async (session) => {
    const names = namesFor(request, state, session.flavor, where.config.userHost);
    await ensureLogin(session, names, loginName(names.loginBase, next), password);
    logRotation(request, 'user', names.loginBase, next);
    return result(where.config, names, { current: next, previous: state.login.current }, password);
  });
}

async function revokePreviousCredentials(
  request: CredentialsRequest,
  signal: AbortSignal,
): Promise<ProvisionResult> {
  signal.throwIfAborted();
  const state = requireState(request);
  const { password } = currentCredentials(MYSQL_DRIVER_ID, request, state, 'user');
  const where = target(request, [password]);
  return AdminSession.open(where, signal, async (session) => {
    const names = namesFor(request, state, session.flavor, where.config.userHost);
    const previous = state.login.previous;
    if (previous !== undefined) {
      const old = loginName(names.loginBase, previous);
      // Locked, not dropped: views and routines it defined keep a valid DEFINER.
      await session.query(
        `lock user "${old}"`,
        `ALTER USER IF EXISTS ${session.account(old, names.userHost)} ACCOUNT LOCK`,
        [],
        PRIVILEGE_FIX,
      );
      await killSessions(session, old);
      request.log?.(`revoked user "${old}" and ended its sessions`);
    }
    return result(where.config, names, { current: state.login.current }, password);
  });
}

/**
 * `mysql` on an existing MariaDB or MySQL server: per resource a database and a user with all
 * privileges on that database alone, with a generated password. Same lifecycle as `postgres`:
 * provisioning again keeps the password when the previous secret outputs are handed back;
 * deprovisioning dumps with `mariadb-dump`/`mysqldump`, then drops the database and its users;
 * credentials rotate in two steps through a second user.
 *
 * @example
 * const driver = createMysqlDriver({ dumpDir: '/var/lib/paved/dumps' });
 * await driver.provision({ resource, context, inputs: { values: { host: 'db.internal' }, secrets: { adminPassword } } }, signal);
 */
export function createMysqlDriver(options: MysqlDriverOptions = {}): ResourceDriver {
  return {
    id: MYSQL_DRIVER_ID,
    inputs,
    secretInputs: ['adminPassword'],
    stateful: true,
    outputNames: () => ({ values: ['host', 'port', 'name', 'database'], secrets: ['username', 'password'] }),
    provision,
    deprovision: (request, signal) => deprovision(request, signal, options),
    rotateCredentials,
    revokePreviousCredentials,
  };
}
