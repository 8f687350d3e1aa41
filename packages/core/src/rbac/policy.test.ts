import { describe, expect, it } from 'vitest';
import { PERMISSION_NAMES, PERMISSIONS, isPermission } from './permissions.js';
import { authorize, grantProblem, mayHoldPermission, type Subject } from './policy.js';
import { ROLES, type RoleTable } from './roles.js';

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

  it('grants nothing through the roles whose permission sets come later', () => {
    const roles = Object.keys(ROLES).filter((role) => role !== 'administrator');
    expect(roles).toEqual(['member', 'manager', 'viewer', 'developer', 'owner', 'deployer']);
    for (const role of roles) {
      const level = ROLES[role as keyof typeof ROLES].level;
      const scope =
        level === 'org'
          ? ({ kind: 'org' } as const)
          : level === 'app'
            ? ({ kind: 'app', app: 'shop' } as const)
            : ({ kind: 'env-type', envType: 'production' } as const);
      const subject: Subject = { principalId: 'p', grants: [{ role, scope }] };
      for (const permission of PERMISSION_NAMES) {
        expect(authorize(subject, permission, { app: 'shop', envType: 'production' }).allowed).toBe(false);
      }
    }
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
