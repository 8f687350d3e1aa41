import { PERMISSION_NAMES, type Permission } from './permissions.js';

/** Where a role is granted: to the whole organisation, one app, or one environment type. */
export type RoleLevel = 'org' | 'app' | 'env-type';

export interface RoleDefinition {
  level: RoleLevel;
  permissions: readonly Permission[];
}

/**
 * Role → permissions. Only `administrator` grants anything yet: the other roles exist so that
 * grants naming them can be stored and checked, and their permission sets arrive with the issue
 * that introduces users, teams and role management. Filling them in is a change to this table
 * only; the policy and the routes stay as they are.
 */
export const ROLES = {
  // Organisation roles.
  member: { level: 'org', permissions: [] },
  manager: { level: 'org', permissions: [] },
  administrator: { level: 'org', permissions: PERMISSION_NAMES },
  // App roles.
  viewer: { level: 'app', permissions: [] },
  developer: { level: 'app', permissions: [] },
  owner: { level: 'app', permissions: [] },
  // Environment-type roles.
  deployer: { level: 'env-type', permissions: [] },
} as const satisfies Record<string, RoleDefinition>;

export type RoleName = keyof typeof ROLES;

/** A role table: the built-in one, or another for tests of the policy. */
export type RoleTable = Readonly<Record<string, RoleDefinition>>;

export function isRoleName(value: unknown): value is RoleName {
  return typeof value === 'string' && Object.hasOwn(ROLES, value);
}
