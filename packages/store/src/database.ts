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

export interface Database {
  apps: AppTable;
  env_types: EnvTypeTable;
  environments: EnvironmentTable;
  value_versions: ValueVersionTable;
  value_changes: ValueChangeTable;
  principals: PrincipalTable;
  tokens: TokenTable;
  role_grants: RoleGrantTable;
}
