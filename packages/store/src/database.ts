/**
 * Row types of the tables, as Kysely sees them. One code path serves SQLite and PostgreSQL, so
 * every column uses a type both engines store the same way:
 * - timestamps are ISO-8601 text (`Date#toISOString()`), which also sorts correctly as text;
 * - booleans are integers 0/1 (SQLite has no boolean type; using integers on PostgreSQL too keeps
 *   one row type and one mapper);
 * - optional values are NULL, turned into `undefined` by the repositories.
 *
 * A later migration that changes a table changes its type here as well.
 */

export interface AppTable {
  name: string;
  team: string | null;
  created_at: string;
  created_by: string;
}

export interface EnvTypeTable {
  name: string;
  position: number;
  description: string | null;
  default_ttl_seconds: number | null;
  default_target: string | null;
  requires_deployer: number;
}

export interface EnvironmentTable {
  app: string;
  name: string;
  type: string;
  target: string;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  cloned_from: string | null;
}

/**
 * One row per version of a value scope. `scope_env` is '' for the app scope: NULL would make
 * the primary key useless, because unique constraints treat NULLs as distinct on both engines.
 */
export interface ValueVersionTable {
  scope_app: string;
  scope_env: string;
  version: number;
  actor: string;
  created_at: string;
  /** Why the version was written when not by hand, e.g. restored by a rollback (0006). */
  note: string | null;
}

/** One row per key set or unset in a version. */
export interface ValueChangeTable {
  scope_app: string;
  scope_env: string;
  version: number;
  key: string;
  action: 'set' | 'unset';
  secret: number;
  value: string | null;
}

export interface PrincipalTable {
  id: string;
  kind: 'user' | 'service-account';
  name: string;
  created_at: string;
  disabled: number;
  /** scrypt hash with its parameters and salt (0005); NULL for service accounts and token-only users. */
  password_hash: string | null;
  /** The app a service account belongs to (0005). */
  app: string | null;
}

export interface TokenTable {
  id: string;
  principal_id: string;
  name: string;
  hash: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  app: string | null;
}

/** `scope_name` is '' for the org scope (see `ValueVersionTable` for why not NULL). */
export interface RoleGrantTable {
  subject: string;
  role: string;
  scope_kind: 'org' | 'app' | 'env-type';
  scope_name: string;
  created_at: string;
}

/**
 * One row per deployment, numbered per environment. JSON-valued fields are text (`steps`,
 * `workloads`, `graph`, `rendered`): both engines store text alike, and nothing queries inside
 * them. `graph` and `rendered` are NULL when absent (the JSON text `null` is a value).
 */
export interface DeploymentTable {
  app: string;
  env: string;
  number: number;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  set_id: string;
  message: string | null;
  actor: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  steps: string;
  workloads: string;
  error: string | null;
  graph: string | null;
  rendered: string | null;
  sealed_runtime_spec: string | null;
  /** The values versions pinned at submit (0006); NULL for deployments recorded before. */
  app_values_version: number | null;
  env_values_version: number | null;
}

/** One immutable workload set of an app, keyed by its content hash (0006). */
export interface DeploymentSetTable {
  app: string;
  set_id: string;
  /** The workloads as JSON text, as the first deployment of the set submitted them. */
  workloads: string;
  created_at: string;
  created_by: string;
}

export interface DeploymentEventTable {
  app: string;
  env: string;
  deployment: number;
  seq: number;
  time: string;
  level: 'info' | 'warn' | 'error';
  type: string;
  workload: string | null;
  message: string;
}

/** `state` and `outputs` are JSON text. */
export interface ActiveResourceTable {
  app: string;
  env: string;
  uid: string;
  type: string;
  class: string;
  res_id: string;
  definition: string;
  definition_version: number;
  driver: string;
  status: 'provisioning' | 'ready' | 'failed' | 'detached';
  state: string;
  outputs: string;
  sealed_secrets: string | null;
  stateful: number;
  updated_at: string;
}

export interface PortAllocationTable {
  app: string;
  env: string;
  workload: string;
  port: string;
  host_port: number;
}

export interface GatewayRouteTable {
  app: string;
  env: string;
  workload: string;
  host: string;
  path: string;
  upstream: string;
}

/**
 * One row per version of a resource definition. `input_values` and `criteria` are JSON text;
 * `sealed_secrets` is a JSON object of key → sealed value. `deleted_at` is set on every version of
 * a deleted definition, whose numbering a later apply continues.
 */
export interface ResourceDefinitionTable {
  name: string;
  version: number;
  type: string;
  class: string | null;
  driver: string;
  input_values: string;
  sealed_secrets: string;
  /** JSON object of key → `{env}` or `{file}`: where the operator keeps each secret, never its value. */
  secret_refs: string;
  criteria: string;
  stateful: number;
  fingerprint: string;
  created_at: string;
  created_by: string;
  deleted_at: string | null;
}

/**
 * One row per version of a target. `settings` is the JSON of the type's settings without secrets;
 * `sealed_secrets` a JSON object of secret path (e.g. `registries.<server>.password`) → sealed
 * value; `deleted_at` as for resource definitions.
 */
export interface TargetTable {
  name: string;
  version: number;
  type: 'process' | 'docker' | 'kubernetes';
  settings: string;
  sealed_secrets: string;
  /** JSON object of secret path → `{env}` or `{file}`: where the operator keeps it, never its value. */
  secret_refs: string;
  fingerprint: string;
  created_at: string;
  created_by: string;
  deleted_at: string | null;
}

export interface TeamTable {
  name: string;
  description: string | null;
  created_at: string;
  created_by: string;
}

export interface TeamMemberTable {
  team: string;
  principal_id: string;
  created_at: string;
}

/** A portal session: the cookie and its CSRF token are stored as SHA-256 hashes only. */
export interface SessionTable {
  id: string;
  principal_id: string;
  hash: string;
  csrf_hash: string;
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  remote_address: string | null;
}

/** Failed logins counted per key (`user:<name>`, `address:<ip>`) since `first_failure_at`. */
export interface LoginFailureTable {
  key: string;
  failures: number;
  first_failure_at: string;
  locked_until: string | null;
}

/** One audit entry; `hash` covers `prev_hash` and the entry's canonical JSON (see audit-chain.ts). */
export interface AuditLogTable {
  seq: number;
  at: string;
  actor_id: string | null;
  actor_name: string | null;
  actor_kind: string;
  token_id: string | null;
  action: string;
  permission: string | null;
  object: string;
  app: string | null;
  env: string | null;
  outcome: string;
  status: number | null;
  remote_address: string | null;
  payload_sha256: string | null;
  request_id: string | null;
  /** JSON object, or NULL. */
  details: string | null;
  prev_hash: string;
  hash: string;
}

/** The single row (`id` 1) every audit append locks: the last sequence number and hash. */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

/** The single row naming this installation (migration 0007). */
export interface InstallationTable {
  id: string;
  created_at: string;
}

export interface Database {
  apps: AppTable;
  env_types: EnvTypeTable;
  environments: EnvironmentTable;
  value_versions: ValueVersionTable;
  value_changes: ValueChangeTable;
  principals: PrincipalTable;
  tokens: TokenTable;
  role_grants: RoleGrantTable;
  deployments: DeploymentTable;
  deployment_sets: DeploymentSetTable;
  deployment_events: DeploymentEventTable;
  active_resources: ActiveResourceTable;
  port_allocations: PortAllocationTable;
  gateway_routes: GatewayRouteTable;
  resource_definitions: ResourceDefinitionTable;
  targets: TargetTable;
  teams: TeamTable;
  team_members: TeamMemberTable;
  sessions: SessionTable;
  login_failures: LoginFailureTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  installation: InstallationTable;
}
