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
  /** Why the version was written when not by hand, e.g. "restored by a rollback to deployment 3". */
  note?: string;
}

export interface Principal {
  id: string;
  kind: 'user' | 'service-account';
  name: string;
  createdAt: string;
  disabled: boolean;
  /** The app a service account belongs to: that app's owners manage it. */
  app?: string;
  /** Whether the principal can log in with a password (the hash itself never leaves the store). */
  hasPassword?: boolean;
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
    options?: { note?: string },
  ): Promise<number>;
  /**
   * Makes the scope's latest values equal to those of `version` (keys, values, secret flags):
   * writes one new version when they differ, with `note` in its history, and returns the version
   * whose values now apply (the latest one unchanged when nothing differs).
   */
  restore(scope: ValueScope, version: number, actor: string, note: string): Promise<number>;
  /** The values in force at `version` (default: the latest). */
  list(scope: ValueScope, version?: number): Promise<ValueEntry[]>;
  currentVersion(scope: ValueScope): Promise<number>;
  /** Newest first. */
  history(scope: ValueScope, options?: ListOptions): Promise<Page<ValueChange>>;
  /** Removes every value and version of the scope (app or environment deletion). */
  deleteScope(scope: ValueScope): Promise<void>;
}

export interface PrincipalRepository {
  /** `passwordHash` is the encoded hash the server made, never a password. */
  create(
    principal: Omit<Principal, 'createdAt' | 'disabled' | 'hasPassword'> & { passwordHash?: string },
  ): Promise<Principal>;
  get(id: string): Promise<Principal | undefined>;
  findByName(name: string): Promise<Principal | undefined>;
  /** Ordered by name; `kind` and `app` narrow the list. */
  list(options?: ListOptions & { kind?: Principal['kind']; app?: string }): Promise<Page<Principal>>;
  /** The encoded password hash, for checking a login; undefined without one. */
  passwordHash(id: string): Promise<string | undefined>;
  /** Sets (or with undefined removes) the password hash. @returns whether the principal exists. */
  setPassword(id: string, passwordHash: string | undefined): Promise<boolean>;
  /** @returns whether the principal exists. */
  setDisabled(id: string, disabled: boolean): Promise<boolean>;
}

export interface TokenRepository {
  create(token: Omit<Token, 'createdAt' | 'lastUsedAt' | 'revokedAt'>): Promise<Token>;
  findByHash(hash: string): Promise<Token | undefined>;
  /** The token of this hash with its principal, in one query: what authentication needs first. */
  findWithPrincipal(hash: string): Promise<{ token: Token; principal: Principal } | undefined>;
  get(id: string): Promise<Token | undefined>;
  touch(id: string, at: Date): Promise<void>;
  revoke(id: string, at: Date): Promise<boolean>;
  listFor(principalId: string): Promise<Token[]>;
}

export interface RoleGrantRepository {
  grant(grant: Omit<RoleGrant, 'createdAt'>): Promise<RoleGrant>;
  revoke(grant: Omit<RoleGrant, 'createdAt'>): Promise<boolean>;
  /** Every grant whose subject is one of `subjects` (a principal id and its teams). */
  listFor(subjects: string[]): Promise<RoleGrant[]>;
  /**
   * A principal's teams and every grant that applies to it (its own and its teams'), in one
   * query: what authentication needs on every request.
   */
  resolve(principalId: string): Promise<{ teams: string[]; grants: RoleGrant[] }>;
  /** Grants matching every given filter, by subject, role and scope. */
  list(filter?: { subject?: string; role?: string; scope?: RoleScope }): Promise<RoleGrant[]>;
  /** Removes every grant of a subject (a deleted team). @returns how many. */
  revokeAll(subject: string): Promise<number>;
}

/** A group of principals; teams own apps and can be granted roles (`team:<name>` subjects). */
export interface Team {
  name: string;
  description?: string;
  createdAt: string;
  createdBy: string;
}

export interface TeamRepository {
  /** @throws PavedError CONFLICT when the team exists. */
  create(team: Omit<Team, 'createdAt'>): Promise<Team>;
  get(name: string): Promise<Team | undefined>;
  /** Ordered by name. */
  list(options?: ListOptions): Promise<Page<Team>>;
  /** @returns whether the team exists. */
  setDescription(name: string, description: string | undefined): Promise<boolean>;
  /** Deletes the team and its memberships. @returns whether it existed. */
  delete(name: string): Promise<boolean>;
  /**
   * @returns false when the principal is a member already.
   * @throws PavedError NOT_FOUND when the team or the principal does not exist.
   */
  addMember(team: string, principalId: string): Promise<boolean>;
  /** @returns whether the principal was a member. */
  removeMember(team: string, principalId: string): Promise<boolean>;
  /** The team's members, by name. */
  members(team: string): Promise<Principal[]>;
  /** Names of the teams the principal belongs to, sorted. */
  teamsOf(principalId: string): Promise<string[]>;
}

/** A portal session, kept as SHA-256 hashes of its cookie and CSRF token. */
export interface Session {
  id: string;
  principalId: string;
  hash: string;
  csrfHash: string;
  createdAt: string;
  expiresAt: string;
  lastUsedAt?: string;
  revokedAt?: string;
  remoteAddress?: string;
}

export interface SessionRepository {
  create(session: Omit<Session, 'createdAt' | 'lastUsedAt' | 'revokedAt'>): Promise<Session>;
  /** The session of this cookie hash with its principal, whatever its state. */
  findWithPrincipal(hash: string): Promise<{ session: Session; principal: Principal } | undefined>;
  touch(id: string, at: Date): Promise<void>;
  /** Keeps the first revocation time. @returns whether the session exists. */
  revoke(id: string, at: Date): Promise<boolean>;
  /** Revokes every live session of a principal (password change, disabling). @returns how many. */
  revokeAllFor(principalId: string, at: Date): Promise<number>;
}

/** Failed logins counted for one key (`user:<name>` or `address:<ip>`). */
export interface LoginFailures {
  key: string;
  failures: number;
  firstFailureAt: string;
  lockedUntil?: string;
}

/** How failed logins turn into a lockout: the login limiter's rules. */
export interface LockoutRule {
  /** Failures within `windowSeconds` of the first that lock the key. */
  threshold: number;
  windowSeconds: number;
  lockSeconds: number;
}

export interface LoginFailureRepository {
  get(key: string): Promise<LoginFailures | undefined>;
  /**
   * Counts one failure at `at`, atomically: the count restarts when the window since the first
   * failure has passed, and the key is locked until `at + lockSeconds` once it reaches the
   * threshold. @returns the counter after this failure.
   */
  recordFailure(key: string, at: Date, rule: LockoutRule): Promise<LoginFailures>;
  /** Forgets the key's failures (after a successful login). */
  clear(key: string): Promise<void>;
}

/** Who did it: a user, a service account, nobody known (a refused request), or Paved itself. */
export type AuditActorKind = 'user' | 'service-account' | 'anonymous' | 'system';
export type AuditOutcome = 'succeeded' | 'denied' | 'failed';

/** One entry of the append-only, hash-chained audit log. */
export interface AuditEntry {
  /** 1, 2, 3… without gaps. */
  seq: number;
  at: string;
  actorId?: string;
  actorName?: string;
  actorKind: AuditActorKind;
  /** The token (or `session:<id>`) the request came with. */
  tokenId?: string;
  /** What was done: `METHOD /route/pattern` for API requests, e.g. `POST /api/v1/apps`. */
  action: string;
  /** The permission the action needs. */
  permission?: string;
  /** What it was done to: the request path, or a resource's identity. */
  object: string;
  app?: string;
  env?: string;
  outcome: AuditOutcome;
  /** The HTTP status answered. */
  status?: number;
  remoteAddress?: string;
  /** SHA-256 (hex) of the request payload, secret values replaced (see docs/access-control.md). */
  payloadSha256?: string;
  requestId?: string;
  /** More about the action (a role granted, a token's id); never a secret. */
  details?: Record<string, unknown>;
  /** The hash of the entry before (64 zeros for the first). */
  prevHash: string;
  /** SHA-256 of `prevHash` followed by the canonical JSON of every other field. */
  hash: string;
}

export type AuditEntryInput = Omit<AuditEntry, 'seq' | 'prevHash' | 'hash' | 'at'> & { at?: string };

export interface AuditFilter {
  /** Entries at or after this ISO timestamp. */
  since?: string;
  /** Entries before this ISO timestamp. */
  until?: string;
  /** The actor's name. */
  actor?: string;
  app?: string;
  action?: string;
  outcome?: AuditOutcome;
}

/** What `verify` found: every entry checked, or the first that breaks the chain. */
export interface AuditVerification {
  ok: boolean;
  /** How many entries were checked. */
  entries: number;
  /** The head row: the last sequence number and hash appends continue from. */
  head: { seq: number; hash: string };
  /** The first entry (by `seq`) that does not fit the chain, and why. */
  broken?: { seq: number; reason: string };
}

export interface AuditRepository {
  /**
   * Appends one entry at the head of the chain. Appends take turns (a lock on the head row on
   * PostgreSQL, the single writer on SQLite, retried when another connection got there first), so
   * concurrent writers never fork the chain.
   */
  append(entry: AuditEntryInput): Promise<AuditEntry>;
  /** Entries matching the filter: newest first by default. */
  list(filter?: AuditFilter, options?: ListOptions & { order?: 'asc' | 'desc' }): Promise<Page<AuditEntry>>;
  /** Walks the whole chain, recomputing every hash. */
  verify(): Promise<AuditVerification>;
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
  /**
   * The values versions pinned when the deployment was submitted, app-level and
   * environment-level; its run renders with exactly these. Absent on deployments recorded before
   * versions were pinned.
   */
  valuesVersions?: { app: number; env: number };
}

/**
 * An app's immutable workload set: what a deployment runs, keyed by its content hash (`setId`).
 * Deploying an identical set reuses the stored one; rollback and promotion deploy a stored set.
 */
export interface DeploymentSet {
  app: string;
  /** `sha256:<hex>` of the workloads in canonical form, file names aside. */
  id: string;
  /** As the first deployment of this set submitted them. */
  workloads: DeploymentWorkload[];
  createdAt: string;
  createdBy: string;
}

export interface DeploymentSetRepository {
  /**
   * Stores the set unless the app already has one with this id (the content is then the same);
   * returns the stored set and whether this call created it.
   */
  put(set: Omit<DeploymentSet, 'createdAt'>): Promise<{ set: DeploymentSet; created: boolean }>;
  get(app: string, id: string): Promise<DeploymentSet | undefined>;
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
  /**
   * Creates the next-numbered deployment of the environment, status `queued`, and stores its
   * workloads as the app's set `setId` unless the app has that set already.
   */
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
  /** Every active resource, in any environment, that a version of the definition made; by app, env, uid. */
  listByDefinition(definition: string): Promise<ActiveResource[]>;
  delete(app: string, env: string, uid: string): Promise<boolean>;
}

export interface PortAllocationRepository {
  /**
   * The host port of each (workload, port) of the environment, allocating new ones from
   * `range` that no other allocation uses (and `isFree` accepts), searching from `startAt`
   * (default `range.from`) and wrapping round; existing ones are kept.
   */
  allocate(
    app: string,
    env: string,
    wanted: { workload: string; port: string }[],
    range: { from: number; to: number },
    isFree?: (port: number) => Promise<boolean>,
    startAt?: number,
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

/** Where workloads run: the local process supervisor, a Docker/Podman engine, a Kubernetes cluster. */
export type TargetType = 'process' | 'docker' | 'kubernetes';

/** What `TargetRepository.put` is given: a target without its version. */
export interface TargetContent {
  name: string;
  type: TargetType;
  /** The settings of its type without the secret ones, as the server checked them. */
  settings: Record<string, unknown>;
  /**
   * Secret settings by path within the settings (`registries.<server>.password`, `kubeconfig`),
   * sealed by the server, never plain text.
   */
  secrets: Record<string, string>;
  /** Where each secret came from, by the same path, so `paved export` can write the reference back. */
  secretRefs: Record<string, SecretReference>;
}

/** A target applied by the platform team, as stored. */
export interface StoredTarget extends TargetContent {
  version: number;
  createdAt: string;
  createdBy: string;
}

export interface PutTargetResult {
  target: StoredTarget;
  action: 'created' | 'updated' | 'unchanged';
}

export interface TargetRepository {
  /**
   * Stores a new version unless the latest has the same `fingerprint` (computed by the caller over
   * the content with secrets in plain text, as for definitions). A deleted target applied again
   * continues its version numbers.
   *
   * @throws PavedError CONFLICT when a concurrent put wrote the same version first.
   */
  put(target: TargetContent, fingerprint: string, actor: string): Promise<PutTargetResult>;
  /** The latest version, unless deleted. */
  get(name: string): Promise<StoredTarget | undefined>;
  /** The latest version of every target not deleted, by name. */
  list(): Promise<StoredTarget[]>;
  /** @returns whether it existed. Its versions stay recorded, so their numbers are never reused. */
  delete(name: string): Promise<boolean>;
}

/** The kinds of sealed values the store holds, as `paved admin rotate-master-key` counts them. */
export type SealedValueKind = 'values' | 'definitions' | 'targets' | 'resources' | 'deployments';

export type SealedValueCounts = Record<SealedValueKind, number>;

/** One sealed value, with what it belongs to (never the plain value: the store has none). */
export interface SealedValue {
  kind: SealedValueKind;
  /** e.g. `value "DB_PASSWORD" of shop/dev version 3`. */
  where: string;
  sealed: string;
}

export interface RewrapSealedOptions {
  /** Returns the value re-wrapped under the current master key (or unchanged). */
  rewrap(sealed: string): string;
  /** The fingerprint of a definition version whose secrets were re-wrapped (keyed by the master key). */
  definitionFingerprint?(definition: StoredResourceDefinition): string;
  /** The fingerprint of a target version whose secrets were re-wrapped. */
  targetFingerprint?(target: StoredTarget): string;
}

/**
 * Every sealed value of every table at once: what a master-key rotation re-wraps. It knows each
 * column that holds sealed values; the values themselves stay opaque to it.
 */
export interface SealedValueRepository {
  /** Every sealed value with where it is. */
  list(): Promise<SealedValue[]>;
  /**
   * Replaces every sealed value with `rewrap(value)` in one transaction (the caller's, or its own)
   * and recomputes the fingerprints of definitions and targets when given the functions.
   * @returns how many values changed, per kind.
   */
  rewrapAll(options: RewrapSealedOptions): Promise<SealedValueCounts>;
}

export interface Store {
  readonly dialect: Dialect;
  readonly teams: TeamRepository;
  readonly sessions: SessionRepository;
  readonly loginFailures: LoginFailureRepository;
  readonly audit: AuditRepository;
  readonly apps: AppRepository;
  readonly envTypes: EnvTypeRepository;
  readonly environments: EnvironmentRepository;
  readonly values: ValueRepository;
  readonly principals: PrincipalRepository;
  readonly tokens: TokenRepository;
  readonly grants: RoleGrantRepository;
  readonly deployments: DeploymentRepository;
  readonly sets: DeploymentSetRepository;
  readonly resources: ActiveResourceRepository;
  readonly ports: PortAllocationRepository;
  readonly routes: GatewayRouteRepository;
  readonly definitions: ResourceDefinitionRepository;
  readonly targets: TargetRepository;
  /** Every sealed value across the tables, for master-key rotation. */
  readonly sealed: SealedValueRepository;
  /**
   * This installation's id, made once when the store was created (migration 0007): the same for
   * every server on this store, different for another store.
   */
  installationId(): Promise<string>;
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
