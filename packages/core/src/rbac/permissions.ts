/**
 * The closed list of permissions API routes may require. A route names one of these (or `public`);
 * roles grant sets of them. Each permission says which scope it is checked in, so a route that
 * needs an app-scoped permission must tell the server which app the request is about.
 *
 * - `org`: about the organisation as a whole (no app involved).
 * - `app`: about one app; the request names it.
 * - `env-type`: about one app's environment of one environment type; the request names both.
 */
export const PERMISSIONS = {
  'self.read': { scope: 'org', description: 'Read who the caller is and which roles they hold.' },
  'metrics.read': { scope: 'org', description: 'Read the Prometheus metrics of the server.' },
  'env-types.read': { scope: 'org', description: 'List and read environment types.' },
  'apps.list': { scope: 'org', description: 'List apps.' },
  'apps.create': { scope: 'org', description: 'Create apps.' },
  'apps.read': { scope: 'app', description: 'Read an app.' },
  'apps.delete': { scope: 'app', description: 'Delete an app that has no environments.' },
  'envs.list': { scope: 'app', description: "List an app's environments." },
  'envs.read': { scope: 'app', description: "Read one of an app's environments." },
  'envs.create': { scope: 'env-type', description: 'Create an environment of an environment type.' },
  'envs.delete': { scope: 'env-type', description: 'Delete an environment of an environment type.' },
  'values.read': { scope: 'app', description: 'List values and their history (secret values stay hidden).' },
  'values.write': { scope: 'app', description: 'Set and unset values and secrets.' },
  'deployments.create': {
    scope: 'env-type',
    description:
      'Deploy to, cancel deployments of and upload build contexts for an environment of an environment type.',
  },
  'deployments.read': {
    scope: 'app',
    description: "List and read an app's deployments and follow their events.",
  },
  'status.read': { scope: 'app', description: "Read the status and endpoints of an app's workloads." },
  'logs.read': { scope: 'app', description: "Read the logs of an app's workloads." },
  'resources.read': {
    scope: 'app',
    description: "List an app's active resources (secret outputs stay hidden).",
  },
  'platform.apply': {
    scope: 'org',
    description: 'Apply platform configuration: create and update resource definitions.',
  },
  'definitions.read': {
    scope: 'org',
    description: 'List and read resource definitions (secret inputs show as key names only).',
  },
  'apps.members': {
    scope: 'app',
    description: 'List, grant and revoke the app roles (viewer, developer, owner) on an app: its members.',
  },
  'resources.delete': {
    scope: 'app',
    description: "Delete an app's stateful resources, and an environment's data with the environment.",
  },
  'service-accounts.manage': {
    scope: 'app',
    description: "Create, list and disable an app's service accounts and manage their tokens.",
  },
  'audit.read': {
    scope: 'app',
    description:
      "Read the audit log: an app's entries when held on the app; every entry, and verifying the chain, when held on the organisation.",
  },
  'tokens.own': {
    scope: 'org',
    description: "Create, list and revoke the caller's own tokens, and end the caller's own session.",
  },
  'teams.manage': { scope: 'org', description: 'Create, list and delete teams and manage their members.' },
  'users.manage': {
    scope: 'org',
    description:
      "Create, list, disable and reset users and service accounts, manage anyone's tokens, and grant or revoke any role.",
  },
  'master-key.rotate': {
    scope: 'org',
    description: 'Rotate the master key that wraps every secret stored by the server.',
  },
} as const satisfies Record<string, { scope: PermissionScope; description: string }>;

export type PermissionScope = 'org' | 'app' | 'env-type';

export type Permission = keyof typeof PERMISSIONS;

/** Every permission name, in table order. */
export const PERMISSION_NAMES = Object.keys(PERMISSIONS) as Permission[];

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && Object.hasOwn(PERMISSIONS, value);
}
