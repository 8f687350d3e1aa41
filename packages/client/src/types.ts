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
