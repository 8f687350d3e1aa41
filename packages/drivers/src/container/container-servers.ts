/**
 * The servers the `container` driver runs, one per resource type: the official image and its
 * documented environment contract, where it keeps its data, and how to tell it accepts
 * connections — a real login with the generated credentials, in the server's own protocol.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { amqpLogin, AmqpRefusal } from './amqp-login.js';

export type ContainerServerType = 'postgres' | 'mysql' | 'redis' | 'amqp';

/** What a resource's server is set up with; the password is a secret output, never in state. */
export interface ServerCredentials {
  username: string;
  password: string;
  /** The database (postgres, mysql) or virtual host (amqp) the resource gets; empty for redis. */
  database: string;
}

export interface ServerAddress {
  host: string;
  port: number;
}

/** A failed readiness check: `refused` when the server answered and rejected the credentials. */
export interface CheckFailure {
  refused: boolean;
  message: string;
}

export interface ContainerServer {
  type: ContainerServerType;
  /** The official image, pinned to a major version, unless the definition's input `image` says otherwise. */
  image: string;
  /** What the server is called in messages. */
  label: string;
  port: number;
  /** Where the image keeps its data: the volume's mount point. */
  dataPath: string;
  /** The image's environment contract. */
  environment(credentials: ServerCredentials): Record<string, string>;
  /** The variable of `environment` holding the resource's password. */
  passwordVariable: string;
  /** Replaces the image's command, keeping its entrypoint (redis takes its password as an option). */
  command?: string[];
  /** Whether `username` is fixed by the server (redis: `default`). */
  username: string;
  /** Outputs per the contracts' table; `host` is the container's alias, `port` the server's own. */
  outputs(
    host: string,
    credentials: ServerCredentials,
  ): { outputs: Record<string, unknown>; secrets: Record<string, string> };
  outputNames: { values: string[]; secrets: string[] };
  /** One login attempt; resolves when it succeeded. */
  check(
    address: ServerAddress,
    credentials: ServerCredentials,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void>;
  /** Whether an error of `check` is the server refusing the credentials (not still starting). */
  refused(error: unknown): boolean;
}

/**
 * A second secret derived from the resource's password (the MariaDB root password): stable for
 * as long as the password is, and never stored on its own.
 */
export function derivedSecret(password: string, purpose: string): string {
  return createHash('sha256').update(`${purpose}\u0000${password}`).digest('base64url').slice(0, 32);
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

const postgres: ContainerServer = {
  type: 'postgres',
  passwordVariable: 'POSTGRES_PASSWORD',
  image: 'postgres:15',
  label: 'PostgreSQL',
  port: 5432,
  dataPath: '/var/lib/postgresql/data',
  username: 'paved',
  environment: ({ username, password, database }) => ({
    POSTGRES_USER: username,
    POSTGRES_PASSWORD: password,
    POSTGRES_DB: database,
  }),
  outputs: (host, { username, password, database }) => ({
    outputs: { host, port: 5432, name: database, database },
    secrets: {
      username,
      password,
      uri: `postgresql://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${host}:5432/${encodeURIComponent(database)}`,
    },
  }),
  outputNames: { values: ['host', 'port', 'name', 'database'], secrets: ['username', 'password', 'uri'] },
  async check(address, { username, password, database }, timeoutMs, signal) {
    const client = new pg.Client({
      ...address,
      user: username,
      password,
      database,
      connectionTimeoutMillis: timeoutMs,
    });
    client.on('error', () => undefined);
    const stop = (): void => void client.end().catch(() => undefined);
    signal.addEventListener('abort', stop, { once: true });
    try {
      await client.connect();
      await client.query('select 1');
    } finally {
      signal.removeEventListener('abort', stop);
      await client.end().catch(() => undefined);
    }
  },
  // 28P01 wrong password, 28000 no such role, 3D000 no such database: the server is up and says no.
  refused: (error) => ['28P01', '28000', '3D000'].includes(String(codeOf(error))),
};

const mysqlServer: ContainerServer = {
  type: 'mysql',
  passwordVariable: 'MARIADB_PASSWORD',
  image: 'mariadb:10.11',
  label: 'MariaDB',
  port: 3306,
  dataPath: '/var/lib/mysql',
  username: 'paved',
  environment: ({ username, password, database }) => ({
    MARIADB_USER: username,
    MARIADB_PASSWORD: password,
    MARIADB_DATABASE: database,
    MARIADB_ROOT_PASSWORD: derivedSecret(password, 'mariadb-root'),
  }),
  outputs: (host, { username, password, database }) => ({
    outputs: { host, port: 3306, name: database, database },
    secrets: { username, password },
  }),
  outputNames: { values: ['host', 'port', 'name', 'database'], secrets: ['username', 'password'] },
  async check(address, { username, password, database }, timeoutMs, signal) {
    const connection = await mysql.createConnection({
      ...address,
      user: username,
      password,
      database,
      connectTimeout: timeoutMs,
    });
    connection.on('error', () => undefined);
    const stop = (): void => connection.destroy();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await connection.query('select 1');
    } finally {
      signal.removeEventListener('abort', stop);
      await connection.end().catch(() => undefined);
    }
  },
  refused: (error) =>
    ['ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR'].includes(String(codeOf(error))),
};

const redis: ContainerServer = {
  type: 'redis',
  passwordVariable: 'REDIS_PASSWORD',
  image: 'redis:7',
  label: 'Redis',
  port: 6379,
  dataPath: '/data',
  username: 'default',
  // The password comes from the environment, not the command line: `docker inspect` shows the
  // command, and Redis replaces its process title, so `ps` does not show it either.
  environment: ({ password }) => ({ REDIS_PASSWORD: password }),
  command: [
    'sh',
    '-c',
    'exec docker-entrypoint.sh redis-server --requirepass "$REDIS_PASSWORD" --appendonly yes --dir /data',
  ],
  // The whole server is the resource's: every key is its own, so the prefix is empty (ADR 0009).
  outputs: (host, { username, password }) => ({
    outputs: { host, port: 6379, prefix: '' },
    secrets: { username, password },
  }),
  outputNames: { values: ['host', 'port', 'prefix'], secrets: ['username', 'password'] },
  async check(address, { username, password }, timeoutMs, signal) {
    const client = new Redis({
      ...address,
      username,
      password,
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      connectTimeout: timeoutMs,
    });
    // A refused AUTH at connect comes as an 'error' event, and connect() only says the
    // connection closed: the event says why.
    let cause: unknown;
    client.on('error', (error: unknown) => {
      cause = error;
    });
    const stop = (): void => client.disconnect();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await client.connect().catch((error: unknown) => {
        throw cause ?? error;
      });
      await client.ping();
    } finally {
      signal.removeEventListener('abort', stop);
      client.disconnect();
    }
  },
  refused: (error) => /^(WRONGPASS|NOAUTH)/.test(error instanceof Error ? error.message : ''),
};

const amqp: ContainerServer = {
  type: 'amqp',
  passwordVariable: 'RABBITMQ_DEFAULT_PASS',
  image: 'rabbitmq:3',
  label: 'RabbitMQ',
  port: 5672,
  dataPath: '/var/lib/rabbitmq',
  username: 'paved',
  environment: ({ username, password, database }) => ({
    RABBITMQ_DEFAULT_USER: username,
    RABBITMQ_DEFAULT_PASS: password,
    RABBITMQ_DEFAULT_VHOST: database,
  }),
  outputs: (host, { username, password, database }) => ({
    outputs: { host, port: 5672, vhost: database },
    secrets: { username, password },
  }),
  outputNames: { values: ['host', 'port', 'vhost'], secrets: ['username', 'password'] },
  check: (address, { username, password, database }, timeoutMs, signal) =>
    amqpLogin({ ...address, username, password, vhost: database, timeoutMs }, signal),
  refused: (error) => error instanceof AmqpRefusal,
};

export const CONTAINER_SERVERS: Readonly<Record<ContainerServerType, ContainerServer>> = {
  postgres,
  mysql: mysqlServer,
  redis,
  amqp,
};

/** The official image each type runs by default, e.g. `postgres:15`. */
export const CONTAINER_IMAGES: Readonly<Record<ContainerServerType, string>> = {
  postgres: postgres.image,
  mysql: mysqlServer.image,
  redis: redis.image,
  amqp: amqp.image,
};

export function isContainerServerType(type: string): type is ContainerServerType {
  return Object.hasOwn(CONTAINER_SERVERS, type);
}
