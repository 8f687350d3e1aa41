import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  EnvironmentType,
  ResourceDefinitionView,
  RoleBindingView,
  Team,
  TargetView,
  User,
} from '@paved/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDocuments } from '../platform-config.js';
import { runCli } from '../testing/run-cli.js';
import { exportAccess, exportDefinition, exportEnvironmentType, exportTarget } from './export.js';

const POSTGRES: ResourceDefinitionView = {
  name: 'dev-postgres',
  version: 3,
  type: 'postgres',
  class: 'large',
  driver: 'echo',
  inputs: {
    values: { host: 'db', port: 5432 },
    secretKeys: ['password', 'username'],
    secretRefs: { password: { env: 'PG_PASSWORD' }, username: { file: 'pg-user' } },
  },
  criteria: [{ env_type: 'development' }],
  stateful: true,
  createdAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'alice',
};

const DNS: ResourceDefinitionView = {
  name: 'corp-dns',
  version: 1,
  type: 'dns',
  driver: 'dns',
  inputs: { values: {}, secretKeys: ['token'] },
  criteria: [],
  stateful: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'alice',
};

const PREVIEW: EnvironmentType = {
  name: 'preview',
  position: 1,
  description: 'Short-lived environments',
  defaultTtl: '72h',
  defaultTarget: 'docker',
  requiresDeployer: false,
};

const PRODUCTION: EnvironmentType = { name: 'production', position: 3, requiresDeployer: true };

const STAGING_DOCKER: TargetView = {
  name: 'staging-docker',
  type: 'docker',
  builtIn: false,
  version: 2,
  available: true,
  docker: {
    host: 'unix:///run/podman/podman.sock',
    registries: {
      '127.0.0.1:5001': { username: 'ci', password: '(secret)', passwordRef: { env: 'REGISTRY_PASSWORD' } },
      'ghcr.io': { username: 'me', password: '(secret)' },
    },
    nodeImage: 'registry.corp.example/node:20',
    sandboxImage: 'busybox:1.36',
  },
  createdAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'alice',
};

const CLUSTER: TargetView = {
  name: 'prod-cluster',
  type: 'kubernetes',
  builtIn: false,
  version: 1,
  available: false,
  reason: 'no kubernetes runtime yet',
  kubernetes: { kubeconfig: '(secret)', kubeconfigRef: { file: './kubeconfig' }, namespacePrefix: 'paved-' },
};

/** Built in: listed by the server, never exported. */
const DETECTED: TargetView = {
  name: 'docker',
  type: 'docker',
  builtIn: true,
  available: true,
  docker: { detectedHost: 'unix:///run/podman/podman.sock', registries: {} },
};

const AT = '2026-01-01T00:00:00.000Z';
const USERS: User[] = [
  { id: '1', name: 'root', kind: 'user', disabled: false, hasPassword: true, createdAt: AT },
  { id: '2', name: 'alice', kind: 'user', disabled: true, hasPassword: true, createdAt: AT },
  {
    id: '3',
    name: 'shop-ci',
    kind: 'service-account',
    app: 'shop',
    disabled: false,
    hasPassword: false,
    createdAt: AT,
  },
];
const TEAMS: Team[] = [
  {
    name: 'web',
    description: 'The web team',
    createdAt: AT,
    createdBy: 'root',
    members: ['shop-ci', 'alice'],
  },
];
const BINDINGS: RoleBindingView[] = [
  { role: 'administrator', subject: 'user:root', scope: { kind: 'org' }, createdAt: AT },
  // Two organisation roles: a User's spec.role would revoke one, so both are bindings.
  { role: 'member', subject: 'user:alice', scope: { kind: 'org' }, createdAt: AT },
  { role: 'manager', subject: 'user:alice', scope: { kind: 'org' }, createdAt: AT },
  { role: 'developer', subject: 'team:web', scope: { kind: 'app', app: 'shop' }, createdAt: AT },
  {
    role: 'deployer',
    subject: 'user:alice',
    scope: { kind: 'env-type', envType: 'production' },
    createdAt: AT,
  },
  // A grant whose principal is gone shows its id.
  { role: 'viewer', subject: '0b7a-gone', scope: { kind: 'app', app: 'shop' }, createdAt: AT },
];

describe('paved export', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'paved-export-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes documents that read back as what was applied, references instead of values', async () => {
    const exported = exportDefinition(POSTGRES);
    expect(exported.guessed).toEqual([]);
    expect(exported.yaml).not.toMatch(/version|createdAt|secretKeys/);
    await writeFile(join(dir, 'pg-user'), 'app\n');
    const read = await readDocuments(exported.yaml, 'dev-postgres.yaml', dir, { PG_PASSWORD: 'pw' });
    expect(read.problems).toEqual([]);
    expect(read.documents).toEqual([
      {
        file: 'dev-postgres.yaml',
        line: 1,
        secretRefs: { password: { env: 'PG_PASSWORD' }, username: { file: 'pg-user' } },
        apiVersion: 'paved.dev/v1',
        kind: 'ResourceDefinition',
        metadata: { name: 'dev-postgres' },
        spec: {
          type: 'postgres',
          class: 'large',
          driver: 'echo',
          inputs: { values: { host: 'db', port: 5432 }, secrets: { password: 'pw', username: 'app' } },
          criteria: [{ env_type: 'development' }],
          stateful: true,
        },
      },
    ]);
  });

  it('leaves out defaults and warns about a secret without a reference', async () => {
    const exported = exportDefinition(DNS);
    expect(exported.guessed).toEqual(['token']);
    expect(exported.yaml).toBe(
      'apiVersion: paved.dev/v1\nkind: ResourceDefinition\nmetadata:\n  name: corp-dns\nspec:\n  type: dns\n  driver: dns\n  inputs:\n    secrets:\n      token:\n        env: token\n',
    );
  });

  it('writes environment types as apply reads them, leaving out defaults', async () => {
    const read = await readDocuments(
      [PREVIEW, PRODUCTION].map((envType) => exportEnvironmentType(envType).yaml).join('---\n'),
      'env-types.yaml',
      dir,
      {},
    );
    expect(read.problems).toEqual([]);
    expect(read.documents.map(({ file: _file, line: _line, ...document }) => document)).toEqual([
      {
        apiVersion: 'paved.dev/v1',
        kind: 'EnvironmentType',
        metadata: { name: 'preview' },
        spec: {
          position: 1,
          description: 'Short-lived environments',
          defaultTtl: '72h',
          defaultTarget: 'docker',
        },
      },
      {
        apiVersion: 'paved.dev/v1',
        kind: 'EnvironmentType',
        metadata: { name: 'production' },
        spec: { position: 3, requiresDeployer: true },
      },
    ]);
  });

  it('writes applied targets as apply reads them, secrets as their references', async () => {
    await writeFile(join(dir, 'kubeconfig'), 'apiVersion: v1\n');
    const exported = [STAGING_DOCKER, CLUSTER, { ...DETECTED, builtIn: false }].map(exportTarget);
    expect(exported.map((document) => document.guessed)).toEqual([
      ['spec.docker.registries.ghcr.io.password'],
      [],
      [],
    ]);
    const read = await readDocuments(
      exported.map((document) => document.yaml).join('---\n'),
      'targets.yaml',
      dir,
      { REGISTRY_PASSWORD: 'pw', STAGING_DOCKER_GHCR_IO_PASSWORD: 'pw2' },
    );
    expect(read.problems).toEqual([]);
    expect(read.documents.map(({ file: _file, line: _line, ...document }) => document)).toEqual([
      {
        secretRefs: {
          'registries.127.0.0.1:5001.password': { env: 'REGISTRY_PASSWORD' },
          'registries.ghcr.io.password': { env: 'STAGING_DOCKER_GHCR_IO_PASSWORD' },
        },
        apiVersion: 'paved.dev/v1',
        kind: 'Target',
        metadata: { name: 'staging-docker' },
        spec: {
          type: 'docker',
          docker: {
            host: 'unix:///run/podman/podman.sock',
            registries: {
              '127.0.0.1:5001': { username: 'ci', password: 'pw' },
              'ghcr.io': { username: 'me', password: 'pw2' },
            },
            nodeImage: 'registry.corp.example/node:20',
            sandboxImage: 'busybox:1.36',
          },
        },
      },
      {
        secretRefs: { kubeconfig: { file: './kubeconfig' } },
        apiVersion: 'paved.dev/v1',
        kind: 'Target',
        metadata: { name: 'prod-cluster' },
        spec: { type: 'kubernetes', kubernetes: { kubeconfig: 'apiVersion: v1', namespacePrefix: 'paved-' } },
      },
      // The detected host is not configuration: a docker target without one auto-detects.
      { apiVersion: 'paved.dev/v1', kind: 'Target', metadata: { name: 'docker' }, spec: { type: 'docker' } },
    ]);
  });

  it('writes users, teams and role bindings as apply reads them, without passwords', async () => {
    const { documents, skipped } = exportAccess(USERS, TEAMS, BINDINGS);
    expect(skipped).toEqual([BINDINGS[5]]);
    const text = documents.map((document) => document.yaml).join('---\n');
    expect(text).not.toMatch(/password|hasPassword|createdAt|token/i);
    const read = await readDocuments(text, 'access.yaml', dir, {});
    expect(read.problems).toEqual([]);
    expect(read.documents.map(({ file: _file, line: _line, ...document }) => document)).toEqual([
      { apiVersion: 'paved.dev/v1', kind: 'User', metadata: { name: 'alice' }, spec: { disabled: true } },
      {
        apiVersion: 'paved.dev/v1',
        kind: 'User',
        metadata: { name: 'root' },
        spec: { role: 'administrator' },
      },
      {
        apiVersion: 'paved.dev/v1',
        kind: 'User',
        metadata: { name: 'shop-ci' },
        spec: { serviceAccount: true, app: 'shop' },
      },
      {
        apiVersion: 'paved.dev/v1',
        kind: 'Team',
        metadata: { name: 'web' },
        spec: { description: 'The web team', members: ['alice', 'shop-ci'] },
      },
      {
        apiVersion: 'paved.dev/v1',
        kind: 'RoleBinding',
        metadata: { name: 'user-alice-member-org' },
        spec: { role: 'member', subject: 'user:alice' },
      },
      {
        apiVersion: 'paved.dev/v1',
        kind: 'RoleBinding',
        metadata: { name: 'user-alice-manager-org' },
        spec: { role: 'manager', subject: 'user:alice' },
      },
      {
        apiVersion: 'paved.dev/v1',
        kind: 'RoleBinding',
        metadata: { name: 'team-web-developer-app-shop' },
        spec: { role: 'developer', subject: 'team:web', app: 'shop' },
      },
      {
        apiVersion: 'paved.dev/v1',
        kind: 'RoleBinding',
        metadata: { name: 'user-alice-deployer-env-type-production' },
        spec: { role: 'deployer', subject: 'user:alice', envType: 'production' },
      },
    ]);
  });

  it('-o DIR writes one file per definition, environment type and applied target; without it prints every document', async () => {
    const answer = (request: { path: string }) =>
      request.path === '/api/v1/teams/web'
        ? { body: TEAMS[0] }
        : {
            body: {
              items: request.path.startsWith('/api/v1/env-types')
                ? [PREVIEW]
                : request.path.startsWith('/api/v1/targets')
                  ? [DETECTED, CLUSTER]
                  : request.path.startsWith('/api/v1/users')
                    ? USERS
                    : request.path.startsWith('/api/v1/teams')
                      ? TEAMS.map(({ members: _members, ...team }) => team)
                      : request.path.startsWith('/api/v1/role-bindings')
                        ? BINDINGS
                        : [POSTGRES, DNS],
              next: null,
            },
          };
    const run = await runCli(['export', '-o', 'platform'], { cwd: dir, env: { PAVED_TOKEN: 't' }, answer });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      'Exported 2 resource definitions, 1 environment type, 1 target, 3 users, 1 team and 4 role bindings to platform.\n',
    );
    const access = exportAccess(USERS, TEAMS, BINDINGS).documents;
    expect((await readdir(join(dir, 'platform', 'access'))).sort()).toEqual(
      access.map((document) => `${document.kind.toLowerCase()}-${document.name}.yaml`).sort(),
    );
    expect(await readFile(join(dir, 'platform', 'access', 'team-web.yaml'), 'utf8')).toBe(
      'apiVersion: paved.dev/v1\nkind: Team\nmetadata:\n  name: web\nspec:\n  description: The web team\n  members:\n    - alice\n    - shop-ci\n',
    );
    expect(run.stderr).toContain('role binding viewer of 0b7a-gone names no user');
    expect(await readFile(join(dir, 'platform', 'targets', 'prod-cluster.yaml'), 'utf8')).toBe(
      exportTarget(CLUSTER).yaml,
    );
    expect(await readdir(join(dir, 'platform', 'targets'))).toEqual(['prod-cluster.yaml']);
    expect(await readFile(join(dir, 'platform', 'environment-types', 'preview.yaml'), 'utf8')).toBe(
      exportEnvironmentType(PREVIEW).yaml,
    );
    expect(run.stderr).toContain('secret "token" has no recorded reference');
    expect(await readFile(join(dir, 'platform', 'dev-postgres.yaml'), 'utf8')).toBe(
      exportDefinition(POSTGRES).yaml,
    );
    expect(await readFile(join(dir, 'platform', 'corp-dns.yaml'), 'utf8')).toBe(exportDefinition(DNS).yaml);

    const printed = await runCli(['export'], { cwd: dir, env: { PAVED_TOKEN: 't' }, answer });
    expect(printed.stdout).toBe(
      [
        exportTarget(CLUSTER),
        exportEnvironmentType(PREVIEW),
        exportDefinition(POSTGRES),
        exportDefinition(DNS),
        ...access,
      ]
        .map((document) => document.yaml)
        .join('---\n'),
    );
  });

  it('leaves out users, teams and role bindings with a warning for a caller who may not read them', async () => {
    const answer = (request: { path: string }) =>
      request.path.startsWith('/api/v1/users')
        ? {
            status: 403,
            body: { error: { code: 'FORBIDDEN', message: 'no role grants users.manage', details: {} } },
          }
        : {
            body: { items: request.path.startsWith('/api/v1/resource-definitions') ? [DNS] : [], next: null },
          };
    const run = await runCli(['export'], { cwd: dir, env: { PAVED_TOKEN: 't' }, answer });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(exportDefinition(DNS).yaml);
    expect(run.stderr).toContain('users, teams and role bindings are not exported');
  });
});
