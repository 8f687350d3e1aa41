import { describe, expect, it } from 'vitest';
import { PERMISSION_NAMES, PERMISSIONS, isPermission } from './permissions.js';
import {
  authorize,
  grantProblem,
  mayHoldPermission,
  maySeeApp,
  type GrantLike,
  type GrantScope,
  type Subject,
} from './policy.js';
import { ROLES, rolesAt, type RoleTable } from './roles.js';

const admin: Subject = {
  principalId: 'p-admin',
  grants: [{ role: 'administrator', scope: { kind: 'org' } }],
};
const nobody: Subject = { principalId: 'p-nobody', grants: [] };

describe('authorize', () => {
  it('allows an organisation administrator every permission in every scope', () => {
    for (const permission of PERMISSION_NAMES) {
      expect(authorize(admin, permission, {}).allowed).toBe(true);
      expect(authorize(admin, permission, { app: 'shop', envType: 'production' }).allowed).toBe(true);
    }
  });

  it('denies everything to a principal without grants, saying why', () => {
    for (const permission of PERMISSION_NAMES) {
      const decision = authorize(nobody, permission, { app: 'shop' });
      expect(decision.allowed).toBe(false);
      expect(decision.reason).toContain(permission);
      expect(decision.reason).toContain('p-nobody');
    }
  });

  it('grants every role only what the table gives it, and only in its scope', () => {
    const shop = { app: 'shop', appTeam: 'payments' } as const;
    const subject = (role: string, scope: GrantScope, teams: string[] = []): Subject => ({
      principalId: `p-${role}`,
      grants: [{ role, scope }],
      teams,
    });
    const viewer = subject('viewer', { kind: 'app', app: 'shop' });
    expect(authorize(viewer, 'values.read', shop).allowed).toBe(true);
    expect(authorize(viewer, 'values.write', shop).allowed).toBe(false);
    expect(authorize(viewer, 'values.read', { app: 'blog' }).allowed).toBe(false);

    const manager = subject('manager', { kind: 'org' });
    expect(authorize(manager, 'apps.create').allowed).toBe(true);
    expect(authorize(manager, 'apps.read', { app: 'blog' }).allowed).toBe(true);
    expect(authorize(manager, 'values.read', shop).allowed).toBe(false);
    expect(authorize(manager, 'users.manage').allowed).toBe(false);

    const owner = subject('owner', { kind: 'app', app: 'shop' });
    for (const permission of ['apps.delete', 'apps.members', 'audit.read', 'resources.delete'] as const) {
      expect(authorize(owner, permission, shop).allowed).toBe(true);
    }
    expect(authorize(owner, 'audit.read', {}).allowed).toBe(false);
    expect(authorize(owner, 'apps.create').allowed).toBe(false);
  });

  it('lets a member read the apps of its own teams, and nothing else of theirs', () => {
    const member: Subject = {
      principalId: 'p-member',
      grants: [{ role: 'member', scope: { kind: 'org' } }],
      teams: ['payments'],
    };
    const ownApp = { app: 'shop', appTeam: 'payments' };
    expect(authorize(member, 'apps.read', ownApp)).toEqual({
      allowed: true,
      reason: 'role "member" grants apps.read on the apps of team "payments", which owns app "shop"',
    });
    expect(authorize(member, 'logs.read', ownApp).allowed).toBe(true);
    expect(authorize(member, 'values.read', ownApp).allowed).toBe(false);
    expect(authorize(member, 'resources.read', ownApp).allowed).toBe(false);
    expect(authorize(member, 'apps.read', { app: 'blog', appTeam: 'content' }).allowed).toBe(false);
    expect(authorize(member, 'apps.read', { app: 'orphan' }).allowed).toBe(false);
    expect(mayHoldPermission(member, 'apps.read')).toBe(true);
    expect(mayHoldPermission({ ...member, teams: [] }, 'apps.read')).toBe(true);
    expect(authorize({ ...member, teams: [] }, 'apps.read', ownApp).allowed).toBe(false);
    expect(maySeeApp(member, ownApp)).toBe(true);
    expect(maySeeApp(member, { app: 'blog', appTeam: 'content' })).toBe(false);
  });

  describe('on an environment type that requires the deployer role', () => {
    const production = { app: 'shop', envType: 'production', requiresDeployer: true };
    const staging = { app: 'shop', envType: 'staging', requiresDeployer: false };
    const developer: Subject = {
      principalId: 'p-dev',
      grants: [{ role: 'developer', scope: { kind: 'app', app: 'shop' } }],
    };
    const deployer: GrantLike = { role: 'deployer', scope: { kind: 'env-type', envType: 'production' } };

    it('needs both the app role and the deployer role on the type', () => {
      expect(authorize(developer, 'deployments.create', staging).allowed).toBe(true);
      const refused = authorize(developer, 'deployments.create', production);
      expect(refused.allowed).toBe(false);
      expect(refused.reason).toBe(
        'role "developer" on app "shop" grants deployments.create, but environment type "production" also needs role "deployer" on it for principal "p-dev"',
      );
      const both: Subject = { ...developer, grants: [...developer.grants, deployer] };
      expect(authorize(both, 'deployments.create', production)).toEqual({
        allowed: true,
        reason:
          'role "developer" on app "shop" grants deployments.create, and role "deployer" unlocks it on environment type "production"',
      });
      expect(authorize(both, 'envs.create', production).allowed).toBe(true);
      // The unlock is for its own type only, and grants nothing on an app without a role there.
      expect(authorize(both, 'deployments.create', { ...production, envType: 'prod-eu' }).allowed).toBe(
        false,
      );
      expect(authorize(both, 'deployments.create', { ...production, app: 'blog' }).allowed).toBe(false);
    });

    it('grants nothing through the deployer role alone', () => {
      const alone: Subject = { principalId: 'p', grants: [deployer] };
      expect(authorize(alone, 'deployments.create', production).allowed).toBe(false);
      expect(mayHoldPermission(alone, 'deployments.create')).toBe(false);
    });

    it('needs no deployer role for an organisation administrator', () => {
      expect(authorize(admin, 'deployments.create', production).allowed).toBe(true);
    });

    it('leaves permissions that are not per environment type alone', () => {
      expect(authorize(developer, 'values.write', production).allowed).toBe(true);
    });
  });

  it('ignores grants of unknown roles, including names of Object.prototype members', () => {
    for (const role of ['superuser', 'constructor', 'toString', '__proto__']) {
      const subject: Subject = { principalId: 'p', grants: [{ role, scope: { kind: 'org' } }] };
      expect(authorize(subject, 'apps.list').allowed).toBe(false);
      expect(mayHoldPermission(subject, 'apps.list')).toBe(false);
    }
  });

  // The later roles issue only fills in the table; this proves the policy already handles scoped
  // roles the way that table will need.
  describe('with a role table that has scoped roles', () => {
    const roles: RoleTable = {
      administrator: { level: 'org', permissions: PERMISSION_NAMES },
      viewer: { level: 'app', permissions: ['apps.read', 'envs.list'] },
      deployer: { level: 'env-type', permissions: ['envs.create'] },
    };
    const viewer: Subject = {
      principalId: 'p',
      grants: [{ role: 'viewer', scope: { kind: 'app', app: 'shop' } }],
    };
    const deployer: Subject = {
      principalId: 'p',
      grants: [{ role: 'deployer', scope: { kind: 'env-type', envType: 'preview' } }],
    };

    it('allows an app role on its app only', () => {
      expect(authorize(viewer, 'apps.read', { app: 'shop' }, roles)).toEqual({
        allowed: true,
        reason: 'role "viewer" on app "shop" grants apps.read',
      });
      expect(authorize(viewer, 'apps.read', { app: 'blog' }, roles).allowed).toBe(false);
      expect(authorize(viewer, 'apps.read', {}, roles).allowed).toBe(false);
      expect(authorize(viewer, 'apps.delete', { app: 'shop' }, roles).allowed).toBe(false);
    });

    it('allows an environment-type role on its type only', () => {
      expect(authorize(deployer, 'envs.create', { app: 'shop', envType: 'preview' }, roles).allowed).toBe(
        true,
      );
      expect(authorize(deployer, 'envs.create', { app: 'shop', envType: 'production' }, roles).allowed).toBe(
        false,
      );
      expect(authorize(deployer, 'envs.create', { app: 'shop' }, roles).allowed).toBe(false);
    });

    it('tells whether a permission could be held anywhere', () => {
      expect(mayHoldPermission(viewer, 'apps.read', roles)).toBe(true);
      expect(mayHoldPermission(viewer, 'apps.create', roles)).toBe(false);
      expect(mayHoldPermission(nobody, 'apps.read', roles)).toBe(false);
    });
  });

  it('keeps a token restricted to one app inside that app, even for an administrator', () => {
    const restricted: Subject = { ...admin, restrictedToApp: 'shop' };
    expect(authorize(restricted, 'apps.read', { app: 'shop' }).allowed).toBe(true);
    const elsewhere = authorize(restricted, 'apps.read', { app: 'blog' });
    expect(elsewhere.allowed).toBe(false);
    expect(elsewhere.reason).toContain('restricted to app "shop"');
    expect(authorize(restricted, 'apps.create').allowed).toBe(false);
    // The principal behind the token could see the app; the token just may not be used there.
    expect(maySeeApp(restricted, { app: 'blog' })).toBe(true);
  });
});

describe('grantProblem', () => {
  it('accepts roles on the level they are defined for', () => {
    expect(grantProblem('administrator', { kind: 'org' })).toBeUndefined();
    expect(grantProblem('owner', { kind: 'app', app: 'shop' })).toBeUndefined();
    expect(grantProblem('deployer', { kind: 'env-type', envType: 'production' })).toBeUndefined();
  });

  it('names unknown roles and wrong levels', () => {
    expect(grantProblem('root', { kind: 'org' })).toMatch(/unknown role "root"; roles are member, manager/);
    expect(grantProblem('deployer', { kind: 'org' })).toBe(
      'role "deployer" is granted per environment type, not on the organisation',
    );
  });
});

describe('ROLES', () => {
  it('has the organisation, app and environment-type roles of the access-control table', () => {
    expect(rolesAt('org')).toEqual(['member', 'manager', 'administrator']);
    expect(rolesAt('app')).toEqual(['viewer', 'developer', 'owner']);
    expect(rolesAt('env-type')).toEqual(['deployer']);
  });

  it('never lets a role other than administrator manage users', () => {
    for (const [name, role] of Object.entries(ROLES)) {
      if (name === 'administrator') continue;
      expect(role.permissions, name).not.toContain('users.manage');
    }
  });
});

describe('PERMISSIONS', () => {
  it('is a closed table every role draws from', () => {
    expect(isPermission('apps.read')).toBe(true);
    expect(isPermission('apps.frobnicate')).toBe(false);
    expect(isPermission('hasOwnProperty')).toBe(false);
    for (const role of Object.values(ROLES)) {
      for (const permission of role.permissions) expect(Object.hasOwn(PERMISSIONS, permission)).toBe(true);
    }
  });
});
