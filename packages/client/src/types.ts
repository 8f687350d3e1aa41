/**
 * The wire types of the HTTP API (docs/api.md), as the client receives and sends them. They are
 * declared here rather than imported from the server so that the client depends on the documented
 * contract, not on the server's internals.
 */

/** `GET /api/v1/health`. */
export interface Health {
  status: 'ok';
  version: string;
}

/** Where a role applies: the whole organisation, one app, or one environment type. */
export type RoleScope =
  { kind: 'org' } | { kind: 'app'; app: string } | { kind: 'env-type'; envType: string };

/** One role an identity holds, and where it holds it. */
export interface RoleBinding {
  role: string;
  scope: RoleScope;
}

/** `GET /api/v1/whoami`: the identity the token belongs to. */
export interface Identity {
  id: string;
  name: string;
  /** A user or a service account; later issues may add kinds, so any string is accepted. */
  kind: string;
  roles: RoleBinding[];
}

export interface App {
  name: string;
  team?: string;
  createdAt: string;
  createdBy: string;
}

export interface CreateAppInput {
  /** A DNS label: lower-case letters, digits and `-`, at most 63. */
  name: string;
  team?: string;
}

export interface EnvironmentType {
  name: string;
  position: number;
  description?: string;
  /** A duration string such as `72h`. */
  defaultTtl?: string;
  defaultTarget?: string;
  requiresDeployer: boolean;
}

export interface Environment {
  app: string;
  name: string;
  type: string;
  target: string;
  createdAt: string;
  createdBy: string;
  expiresAt?: string;
  clonedFrom?: string;
}

export interface CreateEnvInput {
  name: string;
  type: string;
  target?: string;
  /** An environment of the same app to copy values from. */
  from?: string;
  /** `<n>s|m|h|d`, e.g. `72h`. */
  ttl?: string;
}

/** What deleting an environment did to its resources. */
export interface EnvironmentTeardown {
  /** Resources deprovisioned, by uid. */
  deprovisioned: string[];
  /** Stateful resources kept with their data (no `deleteData`), by uid. */
  kept: string[];
  /** What drivers reported, e.g. where a dump was written. */
  messages: string[];
}

export interface DeleteEnvOptions {
  /** Also delete the environment's stateful resources (databases, volumes…). */
  deleteData?: boolean;
}

/** A configuration value. `value` is absent for secrets: they are write-only. */
export interface Value {
  key: string;
  value?: string;
  secret: boolean;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** One entry of the values history. `value` is absent for secrets and unsets. */
export interface ValueChange {
  version: number;
  key: string;
  action: 'set' | 'unset';
  secret: boolean;
  value?: string;
  actor: string;
  at: string;
  /** Why the version was written when not by hand, e.g. restored by a rollback. */
  note?: string;
}

/** Where values live: an app, or one environment of it. */
export interface ValuesScope {
  app: string;
  env?: string;
}

export interface ValueInput {
  /** An environment-variable name: `^[A-Za-z_][A-Za-z0-9_]*$`. */
  key: string;
  value: string;
  secret?: boolean;
}

/** The body of `PATCH …/values`: everything in it is applied at once, or nothing is. */
export interface ValuesChange {
  set?: ValueInput[];
  unset?: string[];
}

export interface ValuesChangeResult {
  /** The version of the scope's values after the change. */
  version: number;
  items: Value[];
}

/** The values of a scope, with the version they are at. */
export interface ValuesList {
  version: number;
  items: Value[];
}

/** One page of a list: `next` is the cursor of the following page, `null` on the last. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** A page of `GET …/values`, which also says which version of the values it shows. */
export interface ValuesPage extends Page<Value> {
  version: number;
}

/** The error shape of every non-2xx answer. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: Record<string, unknown>;
  };
}

/** `PUT /api/v1/apps/{app}/contexts/{hash}`: what the server stored. */
export interface UploadedContext {
  hash: string;
  bytes: number;
}

/** One workload of a deployment request: the Score text as read, and what the server cannot read itself. */
export interface DeploymentRequestWorkload {
  /** The file name as the user gave it; validation problems carry it. */
  file: string;
  /** The Score YAML as read from the file. */
  score: string;
  /** `sha256:<hex>` of the uploaded build context, per container with `image: .`. */
  contexts?: Record<string, string>;
  /** Content of each file a container reads with `source:`, by the path written in the Score file. */
  fileSources?: Record<string, string>;
}

/** The body of `POST …/deployments`. */
export interface DeploymentRequest {
  workloads: DeploymentRequestWorkload[];
  /** Image overrides: `WORKLOAD` or `WORKLOAD.CONTAINER` → reference. */
  images?: Record<string, string>;
  message?: string;
  /** Remove running workloads the request does not name. */
  prune?: boolean;
  /** Only compute the plan; set by {@link PavedClient.planDeployment}. */
  plan?: boolean;
}

export type DeploymentStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** validate, request, match, graph, provision, render, plan, apply, record. */
export interface DeploymentStep {
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
  /** Content hash of the workload set the deployment runs. */
  setId: string;
  message?: string;
  actor: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  steps: DeploymentStep[];
  /** Why it failed or was cancelled, with the evidence. */
  error?: string;
  /** Names of every workload the environment runs after this deployment. */
  workloads?: string[];
  /** The values versions (app-level, environment-level) pinned at submit; its run used these. */
  valuesVersions?: { app: number; env: number };
  /** The resource definition (name, version) matched per resource uid, once the graph was built. */
  definitions?: { uid: string; name: string; version: number }[];
}

/** An app's immutable workload set, by content hash (`GET /api/v1/apps/{app}/sets/{setId}`). */
export interface DeploymentSet {
  app: string;
  /** `sha256:<hex>`; a deployment's `setId`. */
  id: string;
  createdAt: string;
  createdBy: string;
  workloads: {
    name: string;
    file: string;
    /** The Score file as uploaded. */
    score: string;
    /** Container → build-context hash. */
    contexts: Record<string, string>;
    /** Container → image override. */
    images: Record<string, string>;
    /** Path → size in bytes of files read with `source:`. */
    fileSources: Record<string, number>;
  }[];
}

/** One event of a deployment's progress, as `GET …/deployments/{n}/events` streams them. */
export interface DeploymentEvent {
  app?: string;
  env?: string;
  deployment?: number;
  /** Increasing per deployment from 1; the SSE id. */
  seq: number;
  time: string;
  level: 'info' | 'warn' | 'error';
  /** e.g. `step.started`, `workload.ready`; the set grows, so any string is accepted. */
  type: string;
  /** The pipeline step the event belongs to, when the server says. */
  step?: string;
  workload?: string;
  container?: string;
  message: string;
}

/** What {@link PavedClient.deploymentEvents} yields: each event, then the finished deployment. */
export type DeploymentStreamItem =
  { kind: 'event'; event: DeploymentEvent } | { kind: 'end'; deployment: Deployment };

export interface FieldChange {
  field: string;
  before?: string;
  after?: string;
}

export interface WorkloadPlan {
  name: string;
  action: 'create' | 'update' | 'unchanged' | 'delete';
  reason?: string;
  changes: FieldChange[];
}

export interface ResourcePlan {
  uid: string;
  type: string;
  action: 'create' | 'update' | 'unchanged' | 'delete' | 'detach';
  reason?: string;
}

/** The answer of a deployment request with `"plan": true`: what would change, nothing done. */
export interface DeploymentPlan {
  app: string;
  env: string;
  workloads: WorkloadPlan[];
  resources: ResourcePlan[];
  summary: string;
  /** Nothing to create, update, delete or detach: deploying this restarts nothing. */
  noChanges: boolean;
}

/** One side of a deployment diff. */
export interface DeploymentDiffSide {
  app: string;
  env: string;
  number: number;
  setId: string;
}

/** `GET /api/v1/apps/{app}/deployments/diff`: what differs from one deployment to another. */
export interface DeploymentDiff {
  from: DeploymentDiffSide;
  to: DeploymentDiffSide;
  sameSet: boolean;
  identical: boolean;
  /** Only the workloads that differ; `changes` is empty for added and removed ones. */
  workloads: { name: string; change: 'added' | 'removed' | 'changed'; changes: FieldChange[] }[];
  /** Only the resources that differ, by uid. */
  resources: { uid: string; change: 'added' | 'removed' | 'changed'; changes: FieldChange[] }[];
  /** What could not be compared, and why. */
  notes: string[];
}

export interface ContainerStatus {
  name: string;
  state: string;
  restarts: number;
  /** How its last run ended. */
  exitCode?: number;
  probeFailures?: number;
  /** The last failed readiness or liveness check. */
  lastProbeFailure?: { probe: string; status: string; at: string };
}

export interface WorkloadStatus {
  name: string;
  state: 'starting' | 'running' | 'ready' | 'failed' | 'stopped';
  ready: boolean;
  /** The deployment that started the instance running now. */
  deployment?: number;
  /** Every URL a route gives the workload. */
  endpoints: string[];
  containers: ContainerStatus[];
  message?: string;
}

/** `GET …/status`: what the environment runs now. */
export interface EnvironmentStatus {
  app: string;
  env: string;
  /** The deployment the environment runs; absent before the first one succeeded. */
  deployment?: number | null;
  workloads: WorkloadStatus[];
}

/** One line of a workload's log. */
export interface LogLine {
  time: string;
  container: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface LogsOptions {
  container?: string;
  /** A duration (`10m`) or a timestamp, passed to the server as given. */
  since?: string;
  tail?: number;
  follow?: boolean;
  signal?: AbortSignal;
}

/** An active resource of an environment, secrets masked. */
export interface ActiveResource {
  uid: string;
  type: string;
  class?: string;
  resId?: string;
  /** The resource id (`<workload>.<name>` when private, the Score `id` when shared). */
  id?: string;
  definition?: string;
  definitionVersion?: number;
  driver?: string;
  status: string;
  outputs?: Record<string, unknown>;
  stateful?: boolean;
  updatedAt?: string;
}

/** What `paved resources rotate-credentials` did. */
export interface CredentialsRotation {
  uid: string;
  /** The deployment that redeployed the workloads with the new credentials (it has finished). */
  deployment: number;
  /** Whether the previous credentials were revoked: only once that deployment succeeded. */
  revoked: boolean;
  /** What the driver and the server reported; never secrets. */
  messages: string[];
}

/** Criteria of a resource definition: where it applies. */
export interface DefinitionCriterion {
  env_type?: string;
  env?: string;
  app?: string;
  res_id?: string;
  class?: string;
}

/** Where the operator keeps a secret: an environment variable or a file. */
export type SecretReference = { env: string } | { file: string };

/** One document of `paved apply`, secrets resolved to their values by the CLI. */
export interface PlatformDocument {
  /** The file it came from and the line it starts at, for problems. */
  file: string;
  line?: number;
  /** Where each secret was read from, so `paved export` can write the references back. */
  secretRefs?: Record<string, SecretReference>;
  apiVersion: string;
  kind: string;
  [key: string]: unknown;
}

export interface ApplyResult {
  created: number;
  updated: number;
  unchanged: number;
  items: { kind: string; name: string; action: 'created' | 'updated' | 'unchanged' }[];
}

/** A resource definition as the server shows it: secret inputs by name only. */
export interface ResourceDefinitionView {
  name: string;
  version: number;
  type: string;
  class?: string;
  driver: string;
  inputs: {
    values: Record<string, unknown>;
    secretKeys: string[];
    /** Where the operator keeps each secret, as applied; never its value. */
    secretRefs?: Record<string, SecretReference>;
  };
  criteria: DefinitionCriterion[];
  stateful: boolean;
  createdAt: string;
  createdBy: string;
}

/** What deleting a resource definition did; `resources` are those it made, which keep their records. */
export interface DefinitionDeletion {
  name: string;
  /** True when active resources made by it existed and `force` deleted it anyway. */
  forced: boolean;
  resources: { app: string; env: string; uid: string; status: string; definitionVersion: number }[];
  message: string;
}

/** Where a secret of a target came from; the value itself is never returned. */
export type MaskedSecret = '(secret)';

/** A target environments may run on: built in (`process`, `docker` when found) or applied. */
export interface TargetView {
  name: string;
  type: 'process' | 'docker' | 'kubernetes';
  builtIn: boolean;
  /** The applied version; absent for built-in targets. */
  version?: number;
  /** Whether this server can deploy to it now; `reason` says why not. */
  available: boolean;
  reason?: string;
  docker?: {
    /** As applied; absent: auto-detected (`detectedHost`). */
    host?: string;
    detectedHost?: string;
    registries: Record<string, { username: string; password: MaskedSecret; passwordRef?: SecretReference }>;
    /** The image service addresses are built on; absent: the server's own Node. */
    nodeImage?: string;
    /** The sandbox image of multi-container workloads; absent: their first container's image. */
    sandboxImage?: string;
  };
  kubernetes?: {
    kubeconfig: MaskedSecret;
    kubeconfigRef?: SecretReference;
    context?: string;
    namespacePrefix?: string;
  };
  createdAt?: string;
  createdBy?: string;
}

/** Which definition matches one workload's resource, and why each other candidate does not. */
export interface ResourceExplanation {
  app: string;
  env: string;
  workload: string;
  resource: string;
  uid: string;
  type: string;
  class: string;
  id: string;
  winner: { name: string; version: number } | null;
  /** Every definition of the type, best first. */
  candidates: {
    name: string;
    version: number;
    fallback: boolean;
    matched: boolean;
    specificity: number;
    reason: string;
  }[];
  /** What the active resource was last provisioned with, when it exists. */
  active?: { definition: string; definitionVersion: number; status: string };
}

/** A role held by a subject, as `GET …/role-bindings` lists it. */
export interface RoleBindingView {
  role: string;
  /** `user:<name>`, `service-account:<name>` or `team:<name>`. */
  subject: string;
  scope: RoleScope;
  createdAt: string;
}

/** A user or service account. */
export interface User {
  id: string;
  name: string;
  kind: 'user' | 'service-account';
  /** The app a service account belongs to. */
  app?: string;
  disabled: boolean;
  hasPassword: boolean;
  createdAt: string;
  teams?: string[];
  roles?: RoleBindingView[];
}

export interface CreateUserInput {
  name: string;
  kind?: 'user' | 'service-account';
  /** Users only: at least 12 characters. */
  password?: string;
  /** Organisation role: `member` (default for users), `manager`, `administrator`. */
  role?: string;
  /** Service accounts only: the app it belongs to. */
  app?: string;
  teams?: string[];
}

export interface UpdateUserInput {
  /** A new password, or null to remove it. */
  password?: string | null;
  disabled?: boolean;
}

export interface Team {
  name: string;
  description?: string;
  createdAt: string;
  createdBy: string;
  members?: string[];
  roles?: RoleBindingView[];
}

export interface CreateTeamInput {
  name: string;
  description?: string;
  members?: string[];
}

/** A token as listed: never its secret or hash. */
export interface TokenInfo {
  id: string;
  name: string;
  /** The user or service account it belongs to. */
  principal: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
  revokedAt?: string;
  /** The one app it may be used for. */
  app?: string;
}

/** A token just created: `token` is the secret, shown this once. */
export interface CreatedToken extends TokenInfo {
  token: string;
}

export interface CreateTokenInput {
  name: string;
  /** `30d`, `12h`…; 90 days by default, at most 365 days. */
  expires?: string;
  /** Restrict the token to one app. */
  app?: string;
}

/** Whose tokens: the caller's own, any principal's (administrators), or an app's service account's. */
export type TokenOwner = { own: true } | { user: string } | { app: string; serviceAccount: string };

/** `POST /api/v1/login`. */
export interface LoginResult extends CreatedToken {
  user: User;
}

/** Who a role is granted to, where: `app` or `envType`, or neither for an organisation role. */
export interface RoleBindingInput {
  role: string;
  subject: string;
  app?: string;
  envType?: string;
}

export interface RoleBindingFilter {
  subject?: string;
  role?: string;
  app?: string;
  envType?: string;
}

/** One entry of the audit log. */
export interface AuditEntry {
  seq: number;
  at: string;
  actorId?: string;
  actorName?: string;
  actorKind: 'user' | 'service-account' | 'anonymous' | 'system';
  tokenId?: string;
  action: string;
  permission?: string;
  object: string;
  app?: string;
  env?: string;
  outcome: 'succeeded' | 'denied' | 'failed';
  status?: number;
  remoteAddress?: string;
  payloadSha256?: string;
  requestId?: string;
  details?: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditFilter {
  /** ISO timestamp, or a duration back from now such as `24h`. */
  since?: string;
  until?: string;
  actor?: string;
  app?: string;
  action?: string;
  outcome?: 'succeeded' | 'denied' | 'failed';
  /** `desc` (newest first, the default) or `asc`. */
  order?: 'asc' | 'desc';
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string };
  broken?: { seq: number; reason: string };
}
