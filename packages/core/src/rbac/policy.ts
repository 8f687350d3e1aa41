import { PERMISSIONS, type Permission } from './permissions.js';
import { ROLES, type RoleLevel, type RoleTable } from './roles.js';

/** Where a grant applies; the same shape the store keeps for role grants. */
export type GrantScope =
  { kind: 'org' } | { kind: 'app'; app: string } | { kind: 'env-type'; envType: string };

/** A role held by the subject (directly, or through one of its teams) in one scope. */
export interface GrantLike {
  role: string;
  scope: GrantScope;
}

/** Who is asking: a principal with every grant that applies to it, already resolved. */
export interface Subject {
  principalId: string;
  grants: readonly GrantLike[];
  /** Set when the credential used is restricted to one app: nothing outside it is allowed. */
  restrictedToApp?: string;
}

/** What a request is about, as far as the route can tell. Missing parts match no scoped grant. */
export interface AuthorizationScope {
  app?: string;
  envType?: string;
  /** The team that owns `app`, for rules that grant by team ownership. */
  appTeam?: string;
}

export interface Decision {
  allowed: boolean;
  /** Why, in words fit for a log line or a 403 message. */
  reason: string;
}

/**
 * Decides whether `subject` may use `permission` on `scope`. Pure and table-driven: a grant
 * allows when its role's permission set contains `permission` and its scope covers the request's
 * (org covers everything; an app grant covers requests about that app; an env-type grant covers
 * requests about environments of that type). Everything not allowed is denied.
 */
export function authorize(
  subject: Subject,
  permission: Permission,
  scope: AuthorizationScope = {},
  roles: RoleTable = ROLES,
): Decision {
  if (subject.restrictedToApp !== undefined && scope.app !== subject.restrictedToApp) {
    return {
      allowed: false,
      reason: `the token is restricted to app "${subject.restrictedToApp}" and cannot be used for ${describeScope(permission, scope)}`,
    };
  }
  for (const grant of subject.grants) {
    if (!roleGrants(roles, grant.role, permission)) continue;
    if (covers(grant.scope, scope)) {
      return {
        allowed: true,
        reason: `role "${grant.role}" on ${describeGrantScope(grant.scope)} grants ${permission}`,
      };
    }
  }
  return {
    allowed: false,
    reason: `no role of principal "${subject.principalId}" grants ${permission} on ${describeScope(permission, scope)}`,
  };
}

/**
 * Whether any grant of `subject` could allow `permission` in some scope. The server asks this
 * before it reads a request, so that a caller who cannot use a route at all is refused without
 * learning anything about what the route would accept.
 */
export function mayHoldPermission(
  subject: Subject,
  permission: Permission,
  roles: RoleTable = ROLES,
): boolean {
  return subject.grants.some((grant) => roleGrants(roles, grant.role, permission));
}

/** Why a role cannot be granted in a scope, or undefined when it can. */
export function grantProblem(role: string, scope: GrantScope, roles: RoleTable = ROLES): string | undefined {
  const definition = Object.hasOwn(roles, role) ? roles[role] : undefined;
  if (definition === undefined) {
    return `unknown role "${role}"; roles are ${Object.keys(roles).join(', ')}`;
  }
  if (definition.level !== scope.kind) {
    return `role "${role}" is granted ${LEVEL_WORDS[definition.level]}, not on ${describeGrantScope(scope)}`;
  }
  return undefined;
}

const LEVEL_WORDS: Record<RoleLevel, string> = {
  org: 'on the organisation',
  app: 'per app',
  'env-type': 'per environment type',
};

function roleGrants(roles: RoleTable, role: string, permission: Permission): boolean {
  // Own-property lookup: a grant naming "constructor" or "toString" must not find anything.
  const definition = Object.hasOwn(roles, role) ? roles[role] : undefined;
  return definition?.permissions.includes(permission) ?? false;
}

function covers(grant: GrantScope, scope: AuthorizationScope): boolean {
  switch (grant.kind) {
    case 'org':
      return true;
    case 'app':
      return scope.app !== undefined && scope.app === grant.app;
    case 'env-type':
      return scope.envType !== undefined && scope.envType === grant.envType;
  }
}

function describeGrantScope(scope: GrantScope): string {
  switch (scope.kind) {
    case 'org':
      return 'the organisation';
    case 'app':
      return `app "${scope.app}"`;
    case 'env-type':
      return `environment type "${scope.envType}"`;
  }
}

function describeScope(permission: Permission, scope: AuthorizationScope): string {
  const parts: string[] = [];
  if (scope.app !== undefined) parts.push(`app "${scope.app}"`);
  if (scope.envType !== undefined) parts.push(`environment type "${scope.envType}"`);
  if (parts.length === 0)
    return PERMISSIONS[permission].scope === 'org' ? 'the organisation' : 'an unnamed scope';
  return parts.join(', ');
}
