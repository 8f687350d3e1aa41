import { PERMISSIONS, type Permission } from './permissions.js';
import { ROLES, type RoleDefinition, type RoleLevel, type RoleTable } from './roles.js';

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
  /** The teams the principal belongs to, for roles that grant on the apps a team owns. */
  teams?: readonly string[];
  /** Set when the credential used is restricted to one app: nothing outside it is allowed. */
  restrictedToApp?: string;
}

/** What a request is about, as far as the route can tell. Missing parts match no scoped grant. */
export interface AuthorizationScope {
  app?: string;
  envType?: string;
  /** The team that owns `app`, for rules that grant by team ownership. */
  appTeam?: string;
  /**
   * Whether `envType` requires the `deployer` role (production): environment-type permissions
   * then need, besides a role granting them on the app, a role that unlocks them on the type.
   */
  requiresDeployer?: boolean;
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
 * requests about environments of that type). An organisation role may also grant permissions on
 * the apps its holder's teams own. On an environment type that requires the deployer role, an
 * environment-type permission granted on the app also needs a role that unlocks it on the type;
 * organisation-wide grants need none. Everything not allowed is denied.
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
      reason: `the token is restricted to app "${subject.restrictedToApp}" and cannot be used for ${describeScope(scope)}`,
    };
  }
  const gated = PERMISSIONS[permission].scope === 'env-type' && scope.requiresDeployer === true;
  let needsUnlock: GrantLike | undefined;
  for (const grant of subject.grants) {
    const definition = roleOf(roles, grant.role);
    if (definition === undefined) continue;
    if (definition.permissions.includes(permission) && covers(grant.scope, scope)) {
      const reason = `role "${grant.role}" on ${describeGrantScope(grant.scope)} grants ${permission}`;
      if (!gated || grant.scope.kind === 'org') return { allowed: true, reason };
      needsUnlock ??= grant;
    }
    const team = scope.appTeam;
    if (
      grant.scope.kind === 'org' &&
      team !== undefined &&
      definition.ownTeamPermissions?.includes(permission) === true &&
      subject.teams?.includes(team) === true &&
      !gated
    ) {
      return {
        allowed: true,
        reason: `role "${grant.role}" grants ${permission} on the apps of team "${team}", which owns app "${scope.app}"`,
      };
    }
  }
  if (needsUnlock !== undefined) {
    const unlock = subject.grants.find(
      (grant) =>
        grant.scope.kind === 'env-type' &&
        grant.scope.envType === scope.envType &&
        roleOf(roles, grant.role)?.unlocks?.includes(permission) === true,
    );
    const granted = `role "${needsUnlock.role}" on ${describeGrantScope(needsUnlock.scope)} grants ${permission}`;
    if (unlock !== undefined) {
      return {
        allowed: true,
        reason: `${granted}, and role "${unlock.role}" unlocks it on environment type "${scope.envType}"`,
      };
    }
    const unlockers = Object.entries(roles)
      .filter(([, definition]) => definition.unlocks?.includes(permission) === true)
      .map(([name]) => `"${name}"`);
    return {
      allowed: false,
      reason: `${granted}, but environment type "${scope.envType}" also needs role ${unlockers.join(' or ') || '(none)'} on it for principal "${subject.principalId}"`,
    };
  }
  return {
    allowed: false,
    reason: `no role of principal "${subject.principalId}" grants ${permission} on ${describeScope(scope)}`,
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
  return subject.grants.some((grant) => {
    const definition = roleOf(roles, grant.role);
    if (definition === undefined) return false;
    if (definition.permissions.includes(permission)) return true;
    // Counted even without teams: the request is then refused in its scope, where a caller who
    // may not see the app gets the same answer as for an app that does not exist.
    return grant.scope.kind === 'org' && definition.ownTeamPermissions?.includes(permission) === true;
  });
}

/**
 * Whether `subject` may see that `app` exists: whether it may read it, leaving aside a token's
 * restriction to another app (the principal could see it with another token). The server answers
 * requests about apps a caller cannot see as if the app did not exist.
 */
export function maySeeApp(
  subject: Subject,
  scope: Pick<AuthorizationScope, 'app' | 'appTeam'>,
  roles: RoleTable = ROLES,
): boolean {
  const { restrictedToApp: _ignored, ...principal } = subject;
  return authorize(principal, 'apps.read', { app: scope.app, appTeam: scope.appTeam }, roles).allowed;
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

function roleOf(roles: RoleTable, role: string): RoleDefinition | undefined {
  // Own-property lookup: a grant naming "constructor" or "toString" must not find anything.
  return Object.hasOwn(roles, role) ? roles[role] : undefined;
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

function describeScope(scope: AuthorizationScope): string {
  const parts: string[] = [];
  if (scope.app !== undefined) parts.push(`app "${scope.app}"`);
  if (scope.envType !== undefined) parts.push(`environment type "${scope.envType}"`);
  // A request about no app or type is about the organisation as a whole (the whole audit log).
  if (parts.length === 0) return 'the organisation';
  return parts.join(', ');
}
