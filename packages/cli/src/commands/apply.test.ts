import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../testing/run-cli.js';
import type { FakeRequest } from '../testing/run-cli.js';

const POSTGRES = `apiVersion: paved.dev/v1
kind: ResourceDefinition
metadata: { name: dev-postgres }
spec:
  type: postgres
  driver: echo
  inputs:
    values: { host: 127.0.0.1, port: 5432 }
    secrets:
      password: { env: PG_PASSWORD }
      username: { file: pg-user }
  criteria: [ { env_type: development } ]
`;

const REDIS = `# a comment first
apiVersion: paved.dev/v1
kind: ResourceDefinition
metadata: { name: dev-redis }
spec: { type: redis, driver: echo }
---
apiVersion: paved.dev/v1
kind: ResourceDefinition
metadata: { name: prod-redis }
spec: { type: redis, driver: echo, criteria: [ { env_type: production } ] }
`;

const RESULT = {
  created: 2,
  updated: 1,
  unchanged: 0,
  items: [
    { kind: 'ResourceDefinition', name: 'dev-postgres', action: 'created' },
    { kind: 'ResourceDefinition', name: 'dev-redis', action: 'created' },
    { kind: 'ResourceDefinition', name: 'prod-redis', action: 'updated' },
  ],
};

describe('paved apply', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'paved-apply-'));
    await mkdir(join(dir, 'platform', 'nested'), { recursive: true });
    await writeFile(join(dir, 'platform', 'postgres.yaml'), POSTGRES);
    await writeFile(join(dir, 'platform', 'pg-user'), 'app\n');
    await writeFile(join(dir, 'platform', 'nested', 'redis.yml'), REDIS);
    await writeFile(join(dir, 'platform', 'README.md'), 'not configuration');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a directory, resolves secrets locally, sends every document with file and line, prints counts', async () => {
    const requests: FakeRequest[] = [];
    const run = await runCli(['apply', '-f', 'platform'], {
      cwd: dir,
      env: { PAVED_TOKEN: 't', PG_PASSWORD: 'pg-s3cret' },
      requests,
      answer: () => ({ body: RESULT }),
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(
      'Applied 3 documents: 2 created, 1 updated, 0 unchanged.\n' +
        '  ResourceDefinition/dev-postgres created\n' +
        '  ResourceDefinition/dev-redis created\n' +
        '  ResourceDefinition/prod-redis updated\n',
    );
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: 'POST', path: '/api/v1/apply' });
    const { documents } = requests[0]!.body as { documents: Record<string, unknown>[] };
    expect(documents.map((document) => [document.file, document.line])).toEqual([
      [join('platform', 'nested', 'redis.yml'), 2],
      [join('platform', 'nested', 'redis.yml'), 7],
      [join('platform', 'postgres.yaml'), 1],
    ]);
    expect(documents[2]).toEqual({
      file: join('platform', 'postgres.yaml'),
      line: 1,
      secretRefs: { password: { env: 'PG_PASSWORD' }, username: { file: 'pg-user' } },
      apiVersion: 'paved.dev/v1',
      kind: 'ResourceDefinition',
      metadata: { name: 'dev-postgres' },
      spec: {
        type: 'postgres',
        driver: 'echo',
        inputs: {
          values: { host: '127.0.0.1', port: 5432 },
          secrets: { password: 'pg-s3cret', username: 'app' },
        },
        criteria: [{ env_type: 'development' }],
      },
    });
  });

  it('prints the contract JSON with -o json', async () => {
    const run = await runCli(['apply', '-f', 'platform', '-o', 'json'], {
      cwd: dir,
      env: { PAVED_TOKEN: 't', PG_PASSWORD: 'x' },
      answer: () => ({ body: RESULT }),
    });
    expect(JSON.parse(run.stdout)).toEqual(RESULT);
  });

  it('refuses plain-text secrets and unresolvable references at once, naming file and line, sending nothing', async () => {
    await writeFile(
      join(dir, 'bad.yaml'),
      `apiVersion: paved.dev/v1
kind: ResourceDefinition
metadata: { name: bad }
spec:
  type: postgres
  driver: echo
  inputs:
    secrets:
      password: hunter2
      token: { env: MISSING_TOKEN }
      key: { file: nope.txt }
      both: { env: A, file: b }
`,
    );
    const requests: FakeRequest[] = [];
    const run = await runCli(['apply', '-f', 'bad.yaml', '-f', 'platform'], {
      cwd: dir,
      env: { PAVED_TOKEN: 't' },
      requests,
      answer: () => ({ body: RESULT }),
    });
    expect(run.code).toBe(2);
    expect(requests).toEqual([]);
    expect(run.stderr).toContain('bad.yaml:9');
    expect(run.stderr).toMatch(
      /secret "password" is given in plain text.*write password: \{ env: VARIABLE \}/,
    );
    expect(run.stderr).toMatch(/bad.yaml:10.*MISSING_TOKEN, which is not set/);
    expect(run.stderr).toMatch(/bad.yaml:11.*nope.txt .*does not exist/);
    expect(run.stderr).toMatch(/bad.yaml:12.*exactly one of/);
    // The other file's unset PG_PASSWORD is reported in the same run.
    expect(run.stderr).toMatch(/postgres.yaml:\d+.*PG_PASSWORD/);
    expect(run.stderr).not.toContain('hunter2');
  });

  it('sends users, teams and role bindings with the other kinds, in one request, with file and line', async () => {
    await writeFile(
      join(dir, 'access.yaml'),
      `apiVersion: paved.dev/v1
kind: Team
metadata: { name: web }
spec: { description: The web team }
---
apiVersion: paved.dev/v1
kind: RoleBinding
metadata: { name: web-deploys-production }
spec: { role: deployer, subject: "team:web", envType: production }
---
apiVersion: paved.dev/v1
kind: User
metadata: { name: shop-ci }
spec: { serviceAccount: true, app: shop }
`,
    );
    const requests: FakeRequest[] = [];
    const run = await runCli(['apply', '-f', 'access.yaml', '-f', 'platform/nested'], {
      cwd: dir,
      env: { PAVED_TOKEN: 't' },
      requests,
      answer: () => ({ body: RESULT }),
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(requests).toHaveLength(1);
    const { documents } = requests[0]!.body as { documents: Record<string, unknown>[] };
    expect(
      documents.map(({ file, line, kind }) => `${String(file)}:${String(line)} ${String(kind)}`),
    ).toEqual([
      'access.yaml:1 Team',
      'access.yaml:6 RoleBinding',
      'access.yaml:11 User',
      `${join('platform', 'nested', 'redis.yml')}:2 ResourceDefinition`,
      `${join('platform', 'nested', 'redis.yml')}:7 ResourceDefinition`,
    ]);
    expect(documents[1]).toMatchObject({
      spec: { role: 'deployer', subject: 'team:web', envType: 'production' },
    });
  });

  it('refuses a password in a User document without sending or echoing it', async () => {
    await writeFile(
      join(dir, 'users.yaml'),
      `apiVersion: paved.dev/v1
kind: User
metadata: { name: alice }
spec:
  role: manager
  password: hunter2-hunter2
`,
    );
    const requests: FakeRequest[] = [];
    const run = await runCli(['apply', '-f', 'users.yaml'], {
      cwd: dir,
      env: { PAVED_TOKEN: 't' },
      requests,
      answer: () => ({ body: RESULT }),
    });
    expect(run.code).toBe(2);
    expect(requests).toEqual([]);
    expect(run.stderr).toMatch(/users.yaml:6.*spec.password.*paved users set-password/);
    expect(run.stderr).not.toContain('hunter2');
  });

  it('resolves the secrets of targets, registry passwords and kubeconfigs, keyed by their path in the type section', async () => {
    await writeFile(join(dir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
    await writeFile(
      join(dir, 'targets.yaml'),
      `apiVersion: paved.dev/v1
kind: Target
metadata: { name: staging-docker }
spec:
  type: docker
  docker:
    registries:
      127.0.0.1:5001: { username: ci, password: { env: REGISTRY_PASSWORD } }
---
apiVersion: paved.dev/v1
kind: Target
metadata: { name: prod-cluster }
spec:
  type: kubernetes
  kubernetes: { kubeconfig: { file: kubeconfig }, context: prod }
`,
    );
    const requests: FakeRequest[] = [];
    const run = await runCli(['apply', '-f', 'targets.yaml'], {
      cwd: dir,
      env: { PAVED_TOKEN: 't', REGISTRY_PASSWORD: 'registry-s3cret' },
      requests,
      answer: () => ({ body: { created: 2, updated: 0, unchanged: 0, items: [] } }),
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const { documents } = requests[0]!.body as { documents: Record<string, unknown>[] };
    expect(documents).toEqual([
      {
        file: 'targets.yaml',
        line: 1,
        secretRefs: { 'registries.127.0.0.1:5001.password': { env: 'REGISTRY_PASSWORD' } },
        apiVersion: 'paved.dev/v1',
        kind: 'Target',
        metadata: { name: 'staging-docker' },
        spec: {
          type: 'docker',
          docker: { registries: { '127.0.0.1:5001': { username: 'ci', password: 'registry-s3cret' } } },
        },
      },
      {
        file: 'targets.yaml',
        line: 10,
        secretRefs: { kubeconfig: { file: 'kubeconfig' } },
        apiVersion: 'paved.dev/v1',
        kind: 'Target',
        metadata: { name: 'prod-cluster' },
        spec: {
          type: 'kubernetes',
          kubernetes: { kubeconfig: 'apiVersion: v1\nkind: Config', context: 'prod' },
        },
      },
    ]);
  });

  it('refuses a plain-text registry password or kubeconfig, naming file and line, without echoing it', async () => {
    await writeFile(
      join(dir, 'targets.yaml'),
      `apiVersion: paved.dev/v1
kind: Target
metadata: { name: staging-docker }
spec:
  type: docker
  docker:
    registries:
      ghcr.io:
        username: ci
        password: hunter2
---
apiVersion: paved.dev/v1
kind: Target
metadata: { name: prod-cluster }
spec:
  type: kubernetes
  kubernetes:
    kubeconfig:
    context: prod
`,
    );
    const requests: FakeRequest[] = [];
    const run = await runCli(['apply', '-f', 'targets.yaml'], {
      cwd: dir,
      env: { PAVED_TOKEN: 't' },
      requests,
    });
    expect(run.code).toBe(2);
    expect(requests).toEqual([]);
    expect(run.stderr).toContain(
      'targets.yaml:10: spec.docker.registries.ghcr.io.password: secret spec.docker.registries.ghcr.io.password is given in plain text',
    );
    expect(run.stderr).toContain('write password: { env: VARIABLE }');
    expect(run.stderr).toContain(
      'targets.yaml:18: spec.kubernetes.kubeconfig: secret spec.kubernetes.kubeconfig is given in plain text',
    );
    expect(run.stderr).not.toContain('hunter2');
  });

  it('reports YAML syntax errors with their line', async () => {
    await writeFile(join(dir, 'broken.yaml'), 'apiVersion: paved.dev/v1\nkind: [unclosed\n');
    const run = await runCli(['apply', '-f', 'broken.yaml'], { cwd: dir, env: { PAVED_TOKEN: 't' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/broken.yaml:\d/);
  });

  it('shows the server problems with file and line', async () => {
    const run = await runCli(['apply', '-f', 'platform'], {
      cwd: dir,
      env: { PAVED_TOKEN: 't', PG_PASSWORD: 'x' },
      answer: () => ({
        status: 400,
        body: {
          error: {
            code: 'INVALID_INPUT',
            message: '1 problem',
            details: {
              problems: [
                {
                  file: 'platform/postgres.yaml',
                  line: 1,
                  path: 'spec.driver',
                  message: 'unknown driver "x"',
                },
              ],
            },
          },
        },
      }),
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('platform/postgres.yaml:1: spec.driver: unknown driver "x"');
  });
});

describe('paved resources', () => {
  const definition = {
    name: 'dev-postgres',
    version: 2,
    type: 'postgres',
    driver: 'echo',
    inputs: { values: { host: 'db' }, secretKeys: ['password'] },
    criteria: [{ env_type: 'development' }, { app: 'shop', env: 'dev' }],
    stateful: false,
    createdAt: '2026-01-01T00:00:00.000Z',
    createdBy: 'alice',
  };

  it('definitions list and get show versions, criteria and secret names only', async () => {
    const list = await runCli(['resources', 'definitions', 'list'], {
      env: { PAVED_TOKEN: 't' },
      answer: () => ({ body: { items: [definition], next: null } }),
    });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      /^dev-postgres\s+2\s+postgres\s+-\s+echo\s+env_type=development \| app=shop,env=dev$/m,
    );
    const requests: FakeRequest[] = [];
    const get = await runCli(['resources', 'definitions', 'get', 'dev-postgres'], {
      env: { PAVED_TOKEN: 't' },
      requests,
      answer: () => ({ body: definition }),
    });
    expect(requests[0]?.path).toBe('/api/v1/resource-definitions/dev-postgres');
    expect(get.stdout).toMatch(/^Secrets:\s+password$/m);
    expect(get.stdout).toMatch(/^Version:\s+2$/m);
  });

  it('definitions delete sends force only when asked and says what happened to the resources', async () => {
    const requests: FakeRequest[] = [];
    const plain = await runCli(['resources', 'definitions', 'delete', 'old-pg'], {
      env: { PAVED_TOKEN: 't' },
      requests,
      answer: () => ({ body: { name: 'old-pg', forced: false, resources: [], message: 'deleted' } }),
    });
    expect(plain).toMatchObject({ code: 0, stdout: 'Deleted resource definition "old-pg".\n' });
    const forced = await runCli(['resources', 'definitions', 'delete', 'dev-postgres', '--force'], {
      env: { PAVED_TOKEN: 't' },
      requests,
      answer: () => ({
        body: {
          name: 'dev-postgres',
          forced: true,
          resources: [
            {
              app: 'shop',
              env: 'dev',
              uid: 'postgres.default#web.db',
              status: 'ready',
              definitionVersion: 2,
            },
          ],
          message: 'deleted',
        },
      }),
    });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toBe(
      'Deleted resource definition "dev-postgres". The 1 active resource it made keeps its record; the next deployment of its environment matches it again:\n' +
        '  shop/dev postgres.default#web.db (v2, ready)\n',
    );
    expect(requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'DELETE /api/v1/resource-definitions/old-pg',
      'DELETE /api/v1/resource-definitions/dev-postgres?force=true',
    ]);
    const refused = await runCli(['resources', 'definitions', 'delete', 'dev-postgres'], {
      env: { PAVED_TOKEN: 't' },
      answer: () => ({
        status: 409,
        body: {
          error: {
            code: 'CONFLICT',
            message:
              'resource definition "dev-postgres" made 1 active resource (shop/dev postgres.default#web.db); nothing was deleted',
          },
        },
      }),
    });
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('shop/dev postgres.default#web.db');
  });

  it('list shows active resources with definition and version', async () => {
    const requests: FakeRequest[] = [];
    const run = await runCli(['resources', 'list', 'shop', 'dev'], {
      env: { PAVED_TOKEN: 't' },
      requests,
      answer: () => ({
        body: {
          items: [
            {
              uid: 'postgres.default#web.db',
              type: 'postgres',
              status: 'ready',
              definition: 'dev-postgres',
              definitionVersion: 2,
              driver: 'echo',
              updatedAt: '2026-01-01T00:00:00.000Z',
            },
          ],
          next: null,
        },
      }),
    });
    expect(run.code).toBe(0);
    expect(requests[0]?.path).toMatch(/^\/api\/v1\/apps\/shop\/envs\/dev\/resources/);
    expect(run.stdout).toMatch(/^postgres\.default#web\.db\s+postgres\s+ready\s+dev-postgres v2\s+echo/m);
  });

  it('explain shows the winner, the active definition and why each other candidate lost', async () => {
    const requests: FakeRequest[] = [];
    const explanation = {
      app: 'shop',
      env: 'dev',
      workload: 'orders',
      resource: 'db',
      uid: 'postgres.default#orders.db',
      type: 'postgres',
      class: 'default',
      id: 'orders.db',
      winner: { name: 'dev-postgres', version: 2 },
      candidates: [
        {
          name: 'dev-postgres',
          version: 2,
          fallback: false,
          matched: true,
          specificity: 2,
          reason: 'matches criterion {env_type=development} (specificity 2); the winner',
        },
        {
          name: 'prod-postgres',
          version: 1,
          fallback: false,
          matched: false,
          specificity: -1,
          reason:
            'criterion {env_type=production} needs env_type=production, the request has env_type=development',
        },
      ],
      active: { definition: 'dev-postgres', definitionVersion: 1, status: 'ready' },
    };
    const run = await runCli(['resources', 'explain', 'shop', 'dev', 'orders', 'db'], {
      env: { PAVED_TOKEN: 't' },
      requests,
      answer: () => ({ body: explanation }),
    });
    expect(run.code).toBe(0);
    expect(requests[0]?.path).toBe('/api/v1/apps/shop/envs/dev/workloads/orders/resources/db/explain');
    expect(run.stdout).toContain(
      'Resource postgres.default#orders.db (type postgres, class default) of workload "orders" (resources.db) in shop/dev\n',
    );
    expect(run.stdout).toContain('Winner: dev-postgres v2\nActive: provisioned by dev-postgres v1 (ready)\n');
    expect(run.stdout).toMatch(/^dev-postgres\s+2\s+yes\s+2\s+matches criterion/m);
    expect(run.stdout).toMatch(/^prod-postgres\s+1\s+no\s+-\s+criterion \{env_type=production\} needs/m);
    const json = await runCli(['resources', 'explain', 'shop', 'dev', 'orders', 'db', '-o', 'json'], {
      env: { PAVED_TOKEN: 't' },
      answer: () => ({ body: explanation }),
    });
    expect(JSON.parse(json.stdout)).toEqual(explanation);
  });
});

describe('paved targets list', () => {
  it('shows built-in and applied targets, where they connect or why they cannot be used', async () => {
    const items = [
      {
        name: 'docker',
        type: 'docker',
        builtIn: true,
        available: true,
        docker: { detectedHost: 'unix:///run/podman/podman.sock', registries: {} },
      },
      { name: 'process', type: 'process', builtIn: true, available: true },
      {
        name: 'prod-cluster',
        type: 'kubernetes',
        builtIn: false,
        version: 3,
        available: false,
        reason:
          'target "prod-cluster" is a kubernetes target, and this version of Paved has no kubernetes runtime yet',
        kubernetes: { kubeconfig: '(secret)', kubeconfigRef: { file: './kubeconfig' } },
      },
      {
        name: 'staging',
        type: 'docker',
        builtIn: false,
        version: 1,
        available: true,
        docker: {
          host: 'tcp://10.0.0.5:2375',
          registries: { 'ghcr.io': { username: 'ci', password: '(secret)', passwordRef: { env: 'X' } } },
        },
      },
    ];
    const requests: FakeRequest[] = [];
    const run = await runCli(['targets', 'list'], {
      env: { PAVED_TOKEN: 't' },
      requests,
      answer: () => ({ body: { items, next: null } }),
    });
    expect(run.code).toBe(0);
    expect(requests[0]?.path).toMatch(/^\/api\/v1\/targets/);
    expect(run.stdout).toMatch(/^NAME\s+TYPE\s+SOURCE\s+AVAILABLE\s+DETAILS$/m);
    expect(run.stdout).toMatch(
      /^docker\s+docker\s+built-in\s+yes\s+unix:\/\/\/run\/podman\/podman\.sock \(detected\)$/m,
    );
    expect(run.stdout).toMatch(/^process\s+process\s+built-in\s+yes\s+-$/m);
    expect(run.stdout).toMatch(
      /^prod-cluster\s+kubernetes\s+applied v3\s+no\s+target "prod-cluster" is a kubernetes target/m,
    );
    expect(run.stdout).toMatch(
      /^staging\s+docker\s+applied v1\s+yes\s+tcp:\/\/10\.0\.0\.5:2375; registries ghcr\.io$/m,
    );
    const json = await runCli(['targets', 'list', '-o', 'json'], {
      env: { PAVED_TOKEN: 't' },
      answer: () => ({ body: { items, next: null } }),
    });
    expect(JSON.parse(json.stdout)).toEqual(items);
  });
});
