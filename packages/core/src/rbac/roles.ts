import { PERMISSION_NAMES, type Permission } from './permissions.js';

/** Where a role is granted: to the whole organisation, one app, or one environment type. */
export type RoleLevel = 'org' | 'app' | 'env-type';

export interface RoleDefinition {
  level: RoleLevel;
  /** What the role grants wherever it is held (on the organisation: everywhere). */
  permissions: readonly Permission[];
  /**
   * Organisation roles only: permissions granted on the apps owned by one of the holder's teams,
   * and on no other app.
   */
  ownTeamPermissions?: readonly Permission[];
  /**
   * Environment-type roles only: environment-type permissions this role unlocks on its type when
   * the type requires it (`requiresDeployer`, e.g. production). It grants nothing by itself: the
   * holder also needs a role that grants the permission on the app.
   */
  unlocks?: readonly Permission[];
}

/** What every organisation member may do whatever apps they work on. */
const MEMBER_PERMISSIONS = [
  'self.read',
  'tokens.own',
  'apps.list',
  'env-types.read',
  'definitions.read',
] as const satisfies readonly Permission[];

/** Reading an app and what runs in it: apps, environments, deployments, status, logs. */
const APP_READ_PERMISSIONS = [
  'apps.read',
  'envs.list',
  'envs.read',
  'deployments.read',
  'status.read',
  'logs.read',
] as const satisfies readonly Permission[];

const VIEWER_PERMISSIONS = [
  ...APP_READ_PERMISSIONS,
  'values.read',
  'resources.read',
] as const satisfies readonly Permission[];

const DEVELOPER_PERMISSIONS = [
  ...VIEWER_PERMISSIONS,
  'values.write',
  'envs.create',
  'envs.delete',
  'deployments.create',
] as const satisfies readonly Permission[];

const OWNER_PERMISSIONS = [
  ...DEVELOPER_PERMISSIONS,
  'apps.delete',
  'apps.members',
  'resources.delete',
  'service-accounts.manage',
  'audit.read',
] as const satisfies readonly Permission[];

/**
 * Role → permissions: the policy table of docs/access-control.md. The policy (`policy.ts`) reads
 * only this table; the integration test of the API asserts the table cell by cell against its own
 * literal copy, so a change here that the documented table does not make fails it.
 */
export const ROLES = {
  // Organisation roles.
  member: {
    level: 'org',
    permissions: MEMBER_PERMISSIONS,
    ownTeamPermissions: APP_READ_PERMISSIONS,
  },
  manager: {
    level: 'org',
    permissions: [...MEMBER_PERMISSIONS, ...APP_READ_PERMISSIONS, 'apps.create', 'teams.manage'],
  },
  administrator: { level: 'org', permissions: PERMISSION_NAMES },
  // App roles.
  viewer: { level: 'app', permissions: VIEWER_PERMISSIONS },
  developer: { level: 'app', permissions: DEVELOPER_PERMISSIONS },
  owner: { level: 'app', permissions: OWNER_PERMISSIONS },
  // Environment-type roles.
  deployer: {
    level: 'env-type',
    permissions: [],
    unlocks: ['envs.create', 'envs.delete', 'deployments.create'],
  },
} as const satisfies Record<string, RoleDefinition>;

export type RoleName = keyof typeof ROLES;

/** A role table: the built-in one, or another for tests of the policy. */
export type RoleTable = Readonly<Record<string, RoleDefinition>>;

export function isRoleName(value: unknown): value is RoleName {
  return typeof value === 'string' && Object.hasOwn(ROLES, value);
}

/** The roles granted at `level`, in table order. */
export function rolesAt(level: RoleLevel, roles: RoleTable = ROLES): string[] {
  return Object.entries(roles)
    .filter(([, definition]) => definition.level === level)
    .map(([name]) => name);
}
