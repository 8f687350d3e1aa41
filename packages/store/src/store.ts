/**
 * The state store's public face: one repository per concept. Implemented once with Kysely and run
 * on SQLite (the embedded default) and PostgreSQL; every store test runs on both.
 *
 * Repositories store what they are given: secret values arrive already encrypted by the server
 * (see `@paved/core` secrets) and leave encrypted.
 */
import type { Clock } from '@paved/core';

export type Dialect = 'sqlite' | 'postgres';

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page, or null at the end. */
  next: string | null;
}

export interface ListOptions {
  after?: string;
  limit?: number;
}

export interface App {
  name: string;
  team?: string;
  createdAt: string;
  createdBy: string;
}

export interface EnvType {
  name: string;
  /** Order of promotion: development < preview < staging < production. */
  position: number;
  description?: string;
  /** Default time-to-live of environments of this type, in seconds. */
  defaultTtlSeconds?: number;
  /** The target new environments of this type use when none is given. */
  defaultTarget?: string;
  /** Deploying needs the `deployer` role on this environment type. */
  requiresDeployer: boolean;
}

export interface Environment {
  app: string;
  name: string;
  type: string;
  target: string;
  createdAt: string;
  createdBy: string;
  /** When an ephemeral environment expires. */
  expiresAt?: string;
  clonedFrom?: string;
}

/** Values belong to an app, or to one environment of it. */
export interface ValueScope {
  app: string;
  env?: string;
}

export interface ValueEntry {
  key: string;
  /** Plain text for ordinary values; ciphertext for secrets. */
  value: string;
  secret: boolean;
  /** The scope version in which this key got its current value. */
  version: number;
  updatedAt: string;
  updatedBy: string;
}

export interface ValueChange {
  version: number;
  key: string;
  action: 'set' | 'unset';
  secret: boolean;
  /** Plain text for ordinary values, ciphertext for secrets, absent for `unset`. */
  value?: string;
  actor: string;
  at: string;
}

export interface Principal {
  id: string;
  kind: 'user' | 'service-account';
  name: string;
  createdAt: string;
  disabled: boolean;
}

export interface Token {
  id: string;
  principalId: string;
  name: string;
  /** SHA-256 of the token, hex. The token itself is never stored. */
  hash: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
  revokedAt?: string;
  /** Restricts the token to one app. */
  app?: string;
}

export type RoleScope =
  { kind: 'org' } | { kind: 'app'; app: string } | { kind: 'env-type'; envType: string };

export interface RoleGrant {
  /** A principal id, or `team:<name>`. */
  subject: string;
  role: string;
  scope: RoleScope;
  createdAt: string;
}

export interface AppRepository {
  /** @throws PavedError CONFLICT when the app exists. */
  create(app: Omit<App, 'createdAt'>): Promise<App>;
  get(name: string): Promise<App | undefined>;
  list(options?: ListOptions): Promise<Page<App>>;
  /** @returns whether it existed. */
  delete(name: string): Promise<boolean>;
}

export interface EnvTypeRepository {
  list(): Promise<EnvType[]>;
  get(name: string): Promise<EnvType | undefined>;
  /** Create or replace by name. */
  put(envType: EnvType): Promise<EnvType>;
}

export interface EnvironmentRepository {
  /** @throws PavedError CONFLICT when it exists. */
  create(env: Omit<Environment, 'createdAt'>): Promise<Environment>;
  get(app: string, name: string): Promise<Environment | undefined>;
  list(app: string, options?: ListOptions): Promise<Page<Environment>>;
  /** Environments whose `expiresAt` is at or before `now`. */
  listExpired(now: Date): Promise<Environment[]>;
  delete(app: string, name: string): Promise<boolean>;
}

export interface ValueRepository {
  /**
   * Sets and unsets keys in one new version of the scope; returns that version. Unsetting a key
   * that is not set is an INVALID_INPUT error naming it, and nothing is written.
   */
  change(
    scope: ValueScope,
    change: { set?: { key: string; value: string; secret: boolean }[]; unset?: string[] },
    actor: string,
  ): Promise<number>;
  /** The values in force at `version` (default: the latest). */
  list(scope: ValueScope, version?: number): Promise<ValueEntry[]>;
  currentVersion(scope: ValueScope): Promise<number>;
  /** Newest first. */
  history(scope: ValueScope, options?: ListOptions): Promise<Page<ValueChange>>;
  /** Removes every value and version of the scope (app or environment deletion). */
  deleteScope(scope: ValueScope): Promise<void>;
}

export interface PrincipalRepository {
  create(principal: Omit<Principal, 'createdAt' | 'disabled'>): Promise<Principal>;
  get(id: string): Promise<Principal | undefined>;
  findByName(name: string): Promise<Principal | undefined>;
  list(options?: ListOptions): Promise<Page<Principal>>;
}

export interface TokenRepository {
  create(token: Omit<Token, 'createdAt' | 'lastUsedAt' | 'revokedAt'>): Promise<Token>;
  findByHash(hash: string): Promise<Token | undefined>;
  touch(id: string, at: Date): Promise<void>;
  revoke(id: string, at: Date): Promise<boolean>;
  listFor(principalId: string): Promise<Token[]>;
}

export interface RoleGrantRepository {
  grant(grant: Omit<RoleGrant, 'createdAt'>): Promise<RoleGrant>;
  revoke(grant: Omit<RoleGrant, 'createdAt'>): Promise<boolean>;
  /** Every grant whose subject is one of `subjects` (a principal id and its teams). */
  listFor(subjects: string[]): Promise<RoleGrant[]>;
}

export interface Store {
  readonly dialect: Dialect;
  readonly apps: AppRepository;
  readonly envTypes: EnvTypeRepository;
  readonly environments: EnvironmentRepository;
  readonly values: ValueRepository;
  readonly principals: PrincipalRepository;
  readonly tokens: TokenRepository;
  readonly grants: RoleGrantRepository;
  /** Runs `work` in one database transaction, with repositories bound to it. */
  transaction<T>(work: (store: Store) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** `postgres://…` for PostgreSQL; absent for SQLite in `dataDir`. */
  databaseUrl?: string;
  /** Where the SQLite file `paved.db` lives. */
  dataDir: string;
  /** Time source for every timestamp the store writes. */
  clock?: Clock;
}
