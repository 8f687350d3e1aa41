import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliContext } from './cli-context.js';
import { createProgram } from './main.js';
import { runCli } from './testing/run-cli.js';
import type { FakeRequest } from './testing/run-cli.js';

const APP = { name: 'shop', team: 'payments', createdAt: '2025-01-01T00:00:00Z', createdBy: 'admin' };

function leafCommands(command: Command, path: string[] = []): string[][] {
  if (command.commands.length === 0) return [path];
  return command.commands.flatMap((child) => leafCommands(child, [...path, child.name()]));
}

describe('the command tree', () => {
  const program = createProgram(
    new CliContext({ stdout: process.stdout, stderr: process.stderr, env: {}, cwd: '/' }),
  );
  const leaves = leafCommands(program);

  it('has the grammar of the contracts for what exists now', () => {
    expect(leaves.map((path) => path.join(' ')).sort()).toEqual([
      'admin rotate-master-key',
      'apply',
      'apps create',
      'apps delete',
      'apps get',
      'apps list',
      'audit export',
      'audit list',
      'audit verify',
      'deploy',
      'deployments cancel',
      'deployments diff',
      'deployments get',
      'deployments list',
      'envs create',
      'envs delete',
      'envs get',
      'envs list',
      'export',
      'gateway',
      'login',
      'logout',
      'logs',
      'promote',
      'resources definitions delete',
      'resources definitions get',
      'resources definitions list',
      'resources delete',
      'resources explain',
      'resources list',
      'resources rotate-credentials',
      'roles grant',
      'roles list',
      'roles revoke',
      'rollback',
      'score validate',
      'server',
      'status',
      'targets list',
      'teams add-member',
      'teams create',
      'teams delete',
      'teams get',
      'teams list',
      'teams remove-member',
      'tokens create',
      'tokens list',
      'tokens revoke',
      'users create',
      'users disable',
      'users enable',
      'users get',
      'users list',
      'users set-password',
      'values history',
      'values list',
      'values set',
      'values unset',
      'whoami',
    ]);
  });

  it.each([
    [],
    ['apps'],
    ['envs'],
    ['values'],
    ['score'],
    ['deployments'],
    ['resources'],
    ['resources', 'definitions'],
    ['targets'],
    ['users'],
    ['teams'],
    ['tokens'],
    ['roles'],
    ['audit'],
    ...leaves,
  ])('paved %s --help has examples and exits 0', async (...path: string[]) => {
    const run = await runCli([...path, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Examples:\n {2}\$ (npx )?paved /);
  });

  it.each([
    ['apps', 'list'],
    ['apps', 'get'],
    ['envs', 'list'],
    ['envs', 'get'],
    ['values', 'list'],
    ['values', 'history'],
    ['whoami'],
    ['score', 'validate'],
    ['status'],
    ['deployments', 'list'],
    ['deployments', 'get'],
    ['deployments', 'diff'],
    ['targets', 'list'],
    ['users', 'list'],
    ['users', 'get'],
    ['teams', 'list'],
    ['teams', 'get'],
    ['tokens', 'list'],
    ['roles', 'list'],
    ['audit', 'list'],
    ['audit', 'verify'],
  ])('read command %s %s takes -o json|yaml|table', async (...path: string[]) => {
    const run = await runCli([...path, '--help']);
    expect(run.stdout).toContain('-o, --output <format>');
    expect(run.stdout).toContain('"table", "json", "yaml"');
  });
});

describe('paved (parsing)', () => {
  it('prints the version', async () => {
    expect(await runCli(['--version'])).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });

  it.each([
    [['frobnicate']],
    [['apps', 'list', '--bogus']],
    [['apps', 'get']],
    [['apps', 'list', 'extra']],
    [['envs', 'create', 'shop', 'dev']],
    [['apps', 'list', '-o', 'xml']],
    [[]],
  ])('exits 2 for the invalid command line %j', async (argv) => {
    const run = await runCli(argv);
    expect(run.code).toBe(2);
    expect(run.stderr).not.toBe('');
  });

  it('exits 2 for a URL that is not one, naming where it came from', async () => {
    const run = await runCli(['apps', 'list', '--url', 'localhost:7070']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('error: --url "localhost:7070" is not a server URL');
    const fromEnv = await runCli(['apps', 'list'], { env: { PAVED_URL: 'nope' } });
    expect(fromEnv.stderr).toContain('error: PAVED_URL "nope" is not a server URL');
  });

  it('exits 6 with what to do when the server is not running', async () => {
    const run = await runCli(['apps', 'list', '--url', 'http://127.0.0.1:1']);
    expect(run.code).toBe(6);
    expect(run.stderr).toContain('error: cannot reach the Paved server at http://127.0.0.1:1');
    expect(run.stderr).toContain('npx paved server');
  });
});

describe('paved apps / envs / whoami (against canned answers)', () => {
  it('lists apps as a table, JSON and YAML', async () => {
    const answer = () => ({ body: { items: [APP], next: null } });
    expect((await runCli(['apps', 'list'], { answer })).stdout).toBe(
      'NAME  TEAM      CREATED               CREATED BY\nshop  payments  2025-01-01T00:00:00Z  admin\n',
    );
    expect(JSON.parse((await runCli(['apps', 'list', '-o', 'json'], { answer })).stdout)).toEqual([APP]);
    expect((await runCli(['apps', 'list', '-o', 'yaml'], { answer })).stdout).toContain('- name: shop\n');
  });

  it('talks to --url, then PAVED_URL, then the default', async () => {
    const requests: FakeRequest[] = [];
    const answer = () => ({ body: { items: [], next: null } });
    await runCli(['apps', 'list', '--url', 'http://flag.test:1/'], { answer, requests });
    await runCli(['apps', 'list'], { answer, requests, env: { PAVED_URL: 'http://env.test:2' } });
    await runCli(['apps', 'list'], { answer, requests });
    expect(requests.map((request) => request.origin)).toEqual([
      'http://flag.test:1',
      'http://env.test:2',
      'http://127.0.0.1:7070',
    ]);
  });

  it('maps the server’s errors to exit codes and prints its problems', async () => {
    const run = await runCli(['apps', 'create', 'Shop'], {
      answer: () => ({
        status: 400,
        body: {
          error: {
            code: 'INVALID_INPUT',
            message: 'the request body is invalid',
            details: { problems: [{ path: 'name', message: '"Shop" is not a valid name' }] },
          },
        },
      }),
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('error: the request body is invalid\n  name: "Shop" is not a valid name\n');

    const conflict = await runCli(['apps', 'delete', 'shop'], {
      answer: () => ({
        status: 409,
        body: { error: { code: 'CONFLICT', message: 'app "shop" has environments' } },
      }),
    });
    expect(conflict.code).toBe(5);
  });

  it('creates an environment with the flags it was given', async () => {
    const requests: FakeRequest[] = [];
    const run = await runCli(
      ['envs', 'create', 'shop', 'pr-1', '--type', 'preview', '--from', 'staging', '--ttl', '24h'],
      {
        requests,
        answer: () => ({
          status: 201,
          body: {
            app: 'shop',
            name: 'pr-1',
            type: 'preview',
            target: 'process',
            createdAt: 't',
            createdBy: 'admin',
            expiresAt: '2025-01-02T00:00:00Z',
          },
        }),
      },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      'Created environment "pr-1" of app "shop" (type preview, target process, expires 2025-01-02T00:00:00Z).\n',
    );
    expect(requests[0]).toMatchObject({
      method: 'POST',
      path: '/api/v1/apps/shop/envs',
      body: { name: 'pr-1', type: 'preview', from: 'staging', ttl: '24h' },
    });
  });

  it('deletes an environment, keeping its data unless told otherwise; --wait is accepted', async () => {
    const requests: FakeRequest[] = [];
    const answer = () => ({ status: 204 });
    expect((await runCli(['envs', 'delete', 'shop', 'pr-1', '--wait'], { answer, requests })).code).toBe(0);
    await runCli(['envs', 'delete', 'shop', 'pr-1', '--delete-data'], { answer, requests });
    expect(requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'DELETE /api/v1/apps/shop/envs/pr-1',
      'DELETE /api/v1/apps/shop/envs/pr-1?deleteData=true',
    ]);
  });

  it('whoami shows the identity and where the credential came from', async () => {
    const requests: FakeRequest[] = [];
    const run = await runCli(['whoami'], {
      env: { PAVED_TOKEN: 'env-token' },
      requests,
      answer: () => ({
        body: {
          id: 'u1',
          name: 'admin',
          kind: 'user',
          roles: [
            { role: 'administrator', scope: { kind: 'org' } },
            { role: 'deployer', scope: { kind: 'app', app: 'shop' } },
          ],
        },
      }),
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Name:        admin\n');
    expect(run.stdout).toContain('Roles:       administrator on the organisation, deployer on app shop\n');
    expect(run.stdout).toContain('Credential:  PAVED_TOKEN\n');
    expect(requests[0]!.headers.get('authorization')).toBe('Bearer env-token');
  });
});

describe('credentials through the CLI', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'paved-cli-'));
    await mkdir(join(root, '.paved'));
    await writeFile(
      join(root, '.paved', 'credentials.json'),
      JSON.stringify({ url: 'http://127.0.0.1:7070', token: 'admin-token' }),
    );
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const unauthenticated = (request: FakeRequest) =>
    request.headers.has('authorization')
      ? { body: { id: 'u1', name: 'admin', kind: 'user', roles: [] } }
      : { status: 401, body: { error: { code: 'UNAUTHENTICATED', message: 'a token is required' } } };

  it('uses ./.paved/credentials.json for the default URL', async () => {
    const requests: FakeRequest[] = [];
    const run = await runCli(['whoami'], { cwd: root, requests, answer: unauthenticated });
    expect(run.code).toBe(0);
    expect(requests[0]!.headers.get('authorization')).toBe('Bearer admin-token');
  });

  it('does not send it to another URL, exits 4 and says why', async () => {
    const requests: FakeRequest[] = [];
    const run = await runCli(['whoami', '--url', 'http://127.0.0.1:7071'], {
      cwd: root,
      requests,
      answer: unauthenticated,
    });
    expect(run.code).toBe(4);
    expect(requests[0]!.headers.has('authorization')).toBe(false);
    expect(run.stderr).toContain('error: a token is required');
    expect(run.stderr).toContain(`is for http://127.0.0.1:7070, not http://127.0.0.1:7071`);
  });

  it('honours --data-dir and PAVED_DATA_DIR', async () => {
    const requests: FakeRequest[] = [];
    await runCli(['whoami', '--data-dir', join(root, '.paved')], { requests, answer: unauthenticated });
    await runCli(['whoami'], {
      env: { PAVED_DATA_DIR: '.paved' },
      cwd: root,
      requests,
      answer: unauthenticated,
    });
    expect(requests.map((request) => request.headers.get('authorization'))).toEqual([
      'Bearer admin-token',
      'Bearer admin-token',
    ]);
  });
});

describe('paved deployments diff (against canned answers)', () => {
  const side = (env: string, number: number) => ({
    app: 'shop',
    env,
    number,
    setId: `sha256:${'a'.repeat(64)}`,
  });
  const DIFF = {
    from: side('staging', 12),
    to: side('production', 4),
    sameSet: false,
    identical: false,
    workloads: [
      {
        name: 'web',
        change: 'changed',
        changes: [{ field: 'containers.main.variables.VERSION', before: '1', after: '2' }],
      },
    ],
    resources: [],
    notes: [],
  };

  it('takes APP ENV A B and APP ENVA:A ENVB:B, and prints one line per change; exit 0 with differences', async () => {
    const requests: FakeRequest[] = [];
    const answer = () => ({ body: DIFF });
    const same = await runCli(['deployments', 'diff', 'shop', 'dev', '7', '9'], { answer, requests });
    const across = await runCli(['deployments', 'diff', 'shop', 'staging:12', 'production:4'], {
      answer,
      requests,
    });
    expect(requests.map((request) => decodeURIComponent(request.path))).toEqual([
      '/api/v1/apps/shop/deployments/diff?from=dev:7&to=dev:9',
      '/api/v1/apps/shop/deployments/diff?from=staging:12&to=production:4',
    ]);
    expect(same.code).toBe(0);
    expect(across.code).toBe(0);
    expect(across.stdout).toContain('From deployment 12 of shop/staging (set sha256:aaaaaaaaaaaa…)');
    expect(across.stdout).toContain('~ workload web: containers.main.variables.VERSION 1 → 2');
  });

  it('prints the structured diff with -o json', async () => {
    const run = await runCli(['deployments', 'diff', 'shop', 'dev', '7', '9', '-o', 'json'], {
      answer: () => ({ body: DIFF }),
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(DIFF);
  });

  it('refuses a side without an environment or number before any request, exit 2', async () => {
    const requests: FakeRequest[] = [];
    const answer = () => ({ body: DIFF });
    const noEnv = await runCli(['deployments', 'diff', 'shop', '7', '9'], { answer, requests });
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toContain('"7" names no environment: give ENV:N');
    const badNumber = await runCli(['deployments', 'diff', 'shop', 'dev', '7', 'x'], { answer, requests });
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr).toContain('"x" is not a deployment number');
    expect(requests).toEqual([]);
  });
});
