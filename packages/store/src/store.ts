/**
 * The state store's public face: one repository per concept. Implemented once with Kysely and run
 * on SQLite (the embedded default) and PostgreSQL; every store test runs on both.
 *
 * Repositories store what they are given: secret values arrive already encrypted by the server
 * (see `@paved/core` secrets) and leave encrypted.
 */
import type { Clock, ResourceDefinition } from '@paved/core';

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

export type DeploymentStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One workload of a deployment, as uploaded: the Score text and what it was built from. */
export interface DeploymentWorkload {
  name: string;
  /** The file name the CLI read it from, for error messages. */
  file: string;
  /** The Score YAML as uploaded (validated before the deployment was created). */
  score: string;
  /** Content hash of the uploaded build context (`sha256:<hex>`) per container using `image: .`. */
  contexts: Record<string, string>;
  /** Contents of files a container reads with `source:`, by the path written in the Score file. */
  fileSources: Record<string, string>;
  /** Image overrides per container (`--image WORKLOAD[.CONTAINER]=REF`). */
  images: Record<string, string>;
}

export interface DeploymentStep {
  /** validate, request, match, graph, provision, render, plan, apply, record. */
  name: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';
  startedAt?: string;
  finishedAt?: string;
  error?: string;
}

export interface Deployment {
  app: string;
  env: string;
  /** Numbered per environment from 1. */
  number: number;
  status: DeploymentStatus;
  /** Content hash of the full workload set this deployment runs. */
  setId: string;
  message?: string;
  actor: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  steps: DeploymentStep[];
  /** Every workload the environment runs after this deployment (given ones merged with kept ones). */
  workloads: DeploymentWorkload[];
  /** Why it failed or was cancelled, with the evidence. */
  error?: string;
  /** The resource graph as JSON, for the portal. */
  graph?: unknown;
  /** Rendered workloads with secrets masked, for display and diff. */
  rendered?: unknown;
  /** Rendered workloads with secret values, sealed by the server (adoption after restart). */
  sealedRuntimeSpec?: string;
}

export interface DeploymentEvent {
  app: string;
  env: string;
  deployment: number;
  /** Increasing per deployment from 1. */
  seq: number;
  time: string;
  level: 'info' | 'warn' | 'error';
  type: string;
  workload?: string;
  message: string;
}

export interface ActiveResource {
  app: string;
  env: string;
  uid: string;
  type: string;
  class: string;
  resId: string;
  definition: string;
  definitionVersion: number;
  driver: string;
  status: 'provisioning' | 'ready' | 'failed' | 'detached';
  state: unknown;
  outputs: Record<string, unknown>;
  /** Secret outputs, sealed by the server as one string. */
  sealedSecrets?: string;
  stateful: boolean;
  updatedAt: string;
}

/** A host port the platform assigned to one workload port in one environment; stable across deploys. */
export interface PortAllocation {
  app: string;
  env: string;
  workload: string;
  port: string;
  hostPort: number;
}

/** A route the gateway serves: requests for host + path prefix go to upstream. */
export interface GatewayRoute {
  app: string;
  env: string;
  workload: string;
  host: string;
  path: string;
  /** `127.0.0.1:<port>` */
  upstream: string;
}

export interface DeploymentRepository {
  /** Creates the next-numbered deployment of the environment, status `queued`. */
  create(
    deployment: Omit<Deployment, 'number' | 'status' | 'createdAt' | 'steps'> & { steps?: DeploymentStep[] },
  ): Promise<Deployment>;
  get(app: string, env: string, number: number): Promise<Deployment | undefined>;
  /** Newest first. */
  list(app: string, env: string, options?: ListOptions): Promise<Page<Deployment>>;
  /** Deployments with one of these statuses across all environments, oldest first. */
  listByStatus(statuses: DeploymentStatus[]): Promise<Deployment[]>;
  /**
   * Atomically moves the oldest queued deployment of the environment to `running`, but only when
   * none of that environment is running; returns it, or undefined.
   */
  claimNext(app: string, env: string): Promise<Deployment | undefined>;
  update(
    app: string,
    env: string,
    number: number,
    patch: Partial<
      Pick<
        Deployment,
        'status' | 'startedAt' | 'finishedAt' | 'steps' | 'error' | 'graph' | 'rendered' | 'sealedRuntimeSpec'
      >
    >,
  ): Promise<Deployment>;
  /** The last succeeded deployment of the environment (what it runs now). */
  current(app: string, env: string): Promise<Deployment | undefined>;
  appendEvent(event: Omit<DeploymentEvent, 'seq' | 'time'> & { time?: string }): Promise<DeploymentEvent>;
  /** Events with seq > afterSeq, in order. */
  events(app: string, env: string, number: number, afterSeq?: number): Promise<DeploymentEvent[]>;
}

export interface ActiveResourceRepository {
  /** Insert or replace by (app, env, uid). */
  put(resource: Omit<ActiveResource, 'updatedAt'>): Promise<ActiveResource>;
  get(app: string, env: string, uid: string): Promise<ActiveResource | undefined>;
  list(app: string, env: string): Promise<ActiveResource[]>;
  delete(app: string, env: string, uid: string): Promise<boolean>;
}

export interface PortAllocationRepository {
  /**
   * The host port of each (workload, port) of the environment, allocating new ones from
   * `range` that no other allocation uses (and `isFree` accepts); existing ones are kept.
   */
  allocate(
    app: string,
    env: string,
    wanted: { workload: string; port: string }[],
    range: { from: number; to: number },
    isFree?: (port: number) => Promise<boolean>,
  ): Promise<PortAllocation[]>;
  list(app: string, env: string): Promise<PortAllocation[]>;
  /** Frees the environment's allocations (all, or those of one workload). */
  release(app: string, env: string, workload?: string): Promise<void>;
}

export interface GatewayRouteRepository {
  /** Replaces every route of the environment at once. */
  replace(app: string, env: string, routes: Omit<GatewayRoute, 'app' | 'env'>[]): Promise<void>;
  list(app?: string, env?: string): Promise<GatewayRoute[]>;
}

/**
 * A resource definition as stored: `inputs.secrets` holds values sealed by the server, never
 * plain text.
 */
export interface StoredResourceDefinition extends Omit<ResourceDefinition, 'fallback'> {
  /** Where each secret input came from, so `paved export` can write the reference back. */
  secretRefs: Record<string, SecretReference>;
  createdAt: string;
  createdBy: string;
}

/** Where the operator keeps a secret: an environment variable or a file of the CLI's machine. */
export type SecretReference = { env: string } | { file: string };

/** What `ResourceDefinitionRepository.put` is given: a definition without its version. */
export type ResourceDefinitionContent = Omit<ResourceDefinition, 'version' | 'fallback'> & {
  secretRefs: Record<string, SecretReference>;
};

export interface PutDefinitionResult {
  definition: StoredResourceDefinition;
  action: 'created' | 'updated' | 'unchanged';
}

export interface ResourceDefinitionRepository {
  /**
   * Stores a new version of the definition unless its latest version has the same
   * `fingerprint`. The caller computes the fingerprint over the content with the secret values
   * in plain text: sealed values differ on every seal, so the store cannot compare them itself.
   * A deleted definition applied again continues its version numbers.
   *
   * @throws PavedError CONFLICT when a concurrent put wrote the same version first.
   */
  put(
    definition: ResourceDefinitionContent,
    fingerprint: string,
    actor: string,
  ): Promise<PutDefinitionResult>;
  /** The latest version, unless deleted. */
  get(name: string): Promise<StoredResourceDefinition | undefined>;
  /** The latest version of every definition not deleted, by name. */
  list(): Promise<StoredResourceDefinition[]>;
  /** @returns whether it existed. Its versions stay recorded, so their numbers are never reused. */
  delete(name: string): Promise<boolean>;
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
  readonly deployments: DeploymentRepository;
  readonly resources: ActiveResourceRepository;
  readonly ports: PortAllocationRepository;
  readonly routes: GatewayRouteRepository;
  readonly definitions: ResourceDefinitionRepository;
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
