/**
 * The access-control table of issue 10, asserted cell by cell through the real API of a running
 * server. The expected table is written below as the issue writes it, not derived from the
 * policy's own role table; the probes say which requests each row is about. Every route the
 * server has must belong to a row: a route added without one fails this test.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../start-server.js';
import { contextOf, type ContextTarball } from '../testing/context-tarball.js';
import { LogCapture } from '../testing/test-server.js';

// The table exactly as issue 10 writes it.
const ISSUE_TABLE = `
| action | member, no app role | viewer | developer | developer + deployer(production) | owner | manager | administrator |
|---|---|---|---|---|---|---|---|
| list/read apps, envs, deployments, status, logs | own team's apps | ✔ | ✔ | ✔ | ✔ | ✔ | ✔ |
| create an app | ✘ | ✘ | ✘ | ✘ | ✘ | ✔ | ✔ |
| delete an app, manage its members | ✘ | ✘ | ✘ | ✘ | ✔ | ✘ | ✔ |
| create/delete development, preview, staging envs | ✘ | ✘ | ✔ | ✔ | ✔ | ✘ | ✔ |
| create/delete production envs | ✘ | ✘ | ✘ | ✔ | ✔ only with deployer | ✘ | ✔ |
| deploy, rollback, promote into non-production | ✘ | ✘ | ✔ | ✔ | ✔ | ✘ | ✔ |
| deploy, rollback, promote into production | ✘ | ✘ | ✘ | ✔ | ✔ only with deployer | ✘ | ✔ |
| read values; secret values | ✘ | keys only | keys only | keys only | keys only | ✘ | keys only |
| set values and secrets | ✘ | ✘ | ✔ | ✔ | ✔ | ✘ | ✔ |
| read resource outputs (secrets masked) | ✘ | ✔ | ✔ | ✔ | ✔ | ✘ | ✔ |
| delete a stateful resource, delete env data | ✘ | ✘ | ✘ | ✘ | ✔ | ✘ | ✔ |
| read resource definitions, targets, env types | ✔ | ✔ | ✔ | ✔ | ✔ | ✔ | ✔ |
| apply definitions, targets, env types | ✘ | ✘ | ✘ | ✘ | ✘ | ✘ | ✔ |
| manage teams | ✘ | ✘ | ✘ | ✘ | ✘ | ✔ | ✔ |
| manage users and organisation roles | ✘ | ✘ | ✘ | ✘ | ✘ | ✘ | ✔ |
| create own tokens; service accounts of an app | own only | own only | own only | own only | own + app's | own only | ✔ |
| read the audit log | ✘ | ✘ | ✘ | ✘ | their app's | ✘ | ✔ |
`;

// Routes the issue's table does not name: what every signed-in principal does about itself, the
// server's metrics, and what answers without a token. Same columns, same symbols.
const EXTRA_TABLE = `
| action | member, no app role | viewer | developer | developer + deployer(production) | owner | manager | administrator |
|---|---|---|---|---|---|---|---|
| read one's own identity and roles | ✔ | ✔ | ✔ | ✔ | ✔ | ✔ | ✔ |
| read the server's metrics | ✘ | ✘ | ✘ | ✘ | ✘ | ✘ | ✔ |
| rotate the master key | ✘ | ✘ | ✘ | ✘ | ✘ | ✘ | ✔ |
| public: health, the API document, logging in | ✔ | ✔ | ✔ | ✔ | ✔ | ✔ | ✔ |
`;

const COLUMNS = [
  'member, no app role',
  'viewer',
  'developer',
  'developer + deployer(production)',
  'owner',
  'manager',
  'administrator',
] as const;
type Column = (typeof COLUMNS)[number];

function parseTable(text: string): Map<string, Map<Column, string>> {
  const rows = new Map<string, Map<Column, string>>();
  const lines = text.trim().split('\n');
  const header = cells(lines[0]!);
  expect(header).toEqual(['action', ...COLUMNS]);
  for (const line of lines.slice(2)) {
    const [action, ...values] = cells(line);
    expect(values, action).toHaveLength(COLUMNS.length);
    rows.set(action!, new Map(COLUMNS.map((column, index) => [column, values[index]!])));
  }
  return rows;
}

function cells(line: string): string[] {
  return line
    .split('|')
    .slice(1, -1)
    .map((cell) => cell.trim());
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the assertions are the types of API answers */
interface Answer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

/** One app made for a cell, on which every column's principal holds its role. */
interface Fixture {
  app: string;
  /** Names unique to this fixture, for things a probe creates. */
  unique: string;
}

/** Whose request a probe sends: a column's principal, or one of the helpers. */
interface Caller {
  name: string;
  token: string;
  password: string;
}

/** Which part of a composite cell (`own + app's`, `their app's`) a probe exercises. */
type Part = 'own' | 'app' | 'any' | 'org';

interface Probe {
  /** `METHOD /route/pattern` as the server's route table has it. */
  route: string;
  /** The concrete path; `{app}` etc. filled from the fixture. */
  path: (fixture: Fixture) => string;
  body?: (fixture: Fixture, caller: Caller) => unknown;
  headers?: Record<string, string>;
  /** Raw bytes to send instead of a JSON body. */
  raw?: () => Uint8Array;
  /** Runs as the administrator before the probe, e.g. to create what it deletes. */
  prepare?: (fixture: Fixture, caller: Caller) => Promise<Record<string, string> | void>;
  /** Sends the request itself, for probes that need a session rather than a token. */
  send?: (fixture: Fixture, caller: Caller) => Promise<Answer>;
  /** What an allowed request answers; a regex on the error message for a 404 of the handler. */
  ok: number | { status: number; message: RegExp };
  part?: Part;
  /** A list of apps: allowed means the fixture's app is listed, refused that it is not. */
  listsApps?: true;
  /** The answer must not contain the secret value. */
  keysOnly?: true;
  /** Needs a fixture of its own: it deletes or changes what other probes rely on. */
  own?: true;
}

const SECRET_VALUE = 'hunter2-the-secret-value';
const PASSWORD = 'correct horse battery staple';

describe('the access-control table, through the API', () => {
  const log = new LogCapture();
  let root: string;
  let server: RunningServer;
  let adminToken: string;
  let context: ContextTarball;
  const callers = new Map<string, Caller>();
  let counter = 0;

  async function call(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; raw?: Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let body: string | Uint8Array | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, body: parsed, text, headers: response.headers };
  }

  /** A request the administrator makes to set things up; it must succeed. */
  async function admin(method: string, path: string, body?: unknown): Promise<any> {
    const answer = await call(method, path, { token: adminToken, body });
    expect(answer.status, `${method} ${path}: ${answer.text}`).toBeLessThan(300);
    return answer.body;
  }

  async function user(name: string, role: string, teams: string[] = []): Promise<Caller> {
    await admin('POST', '/api/v1/users', { name, password: PASSWORD, role, teams });
    const { token } = await admin('POST', `/api/v1/users/${name}/tokens`, { name: 'policy-test' });
    const caller = { name, token, password: PASSWORD };
    callers.set(name, caller);
    return caller;
  }

  /** Who stands for each column, and the helpers cells with conditions need. */
  const COLUMN_USERS: Record<Column, string> = {
    'member, no app role': 'c-member',
    viewer: 'c-viewer',
    developer: 'c-developer',
    'developer + deployer(production)': 'c-dev-deployer',
    owner: 'c-owner',
    manager: 'c-manager',
    administrator: 'c-admin',
  };
  const OUTSIDER = 'c-outsider';
  const OWNER_DEPLOYER = 'c-owner-deployer';

  async function fixture(): Promise<Fixture> {
    counter += 1;
    const app = `t${counter}`;
    await admin('POST', '/api/v1/apps', { name: app, team: 'alpha' });
    await admin('POST', `/api/v1/apps/${app}/envs`, { name: 'dev', type: 'development' });
    await admin('POST', `/api/v1/apps/${app}/envs`, { name: 'prod', type: 'production' });
    for (const [name, role] of [
      ['c-viewer', 'viewer'],
      ['c-developer', 'developer'],
      ['c-dev-deployer', 'developer'],
      ['c-owner', 'owner'],
      [OWNER_DEPLOYER, 'owner'],
    ] as const) {
      await admin('POST', `/api/v1/apps/${app}/role-bindings`, { role, subject: `user:${name}` });
    }
    await admin('PATCH', `/api/v1/apps/${app}/values`, {
      set: [
        { key: 'API_KEY', value: SECRET_VALUE, secret: true },
        { key: 'LOG_LEVEL', value: 'info' },
      ],
    });
    await admin('PATCH', `/api/v1/apps/${app}/envs/dev/values`, {
      set: [{ key: 'DB_PASSWORD', value: SECRET_VALUE, secret: true }],
    });
    return { app, unique: `u${counter}` };
  }

  const plan = () => ({
    workloads: [
      {
        file: 'score.yaml',
        score:
          'apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: .\n    command: ["node", "server.mjs"]\n',
        contexts: { main: context.hash },
      },
    ],
    plan: true,
  });

  const appPath =
    (suffix = '') =>
    (f: Fixture) =>
      `/api/v1/apps/${f.app}${suffix}`;
  const fixed = (path: string) => () => path;
  const handler404 = (message: RegExp) => ({ status: 404, message });

  /** The requests each row is about. */
  const PROBES: Record<string, Probe[]> = {
    'list/read apps, envs, deployments, status, logs': [
      { route: 'GET /api/v1/apps', path: fixed('/api/v1/apps'), ok: 200, listsApps: true },
      { route: 'GET /api/v1/apps/{app}', path: appPath(), ok: 200 },
      { route: 'GET /api/v1/apps/{app}/envs', path: appPath('/envs'), ok: 200 },
      { route: 'GET /api/v1/apps/{app}/envs/{env}', path: appPath('/envs/dev'), ok: 200 },
      {
        route: 'GET /api/v1/apps/{app}/envs/{env}/deployments',
        path: appPath('/envs/dev/deployments'),
        ok: 200,
      },
      {
        route: 'GET /api/v1/apps/{app}/envs/{env}/deployments/{n}',
        path: appPath('/envs/dev/deployments/1'),
        ok: handler404(/^deployment 1 of .* does not exist/),
      },
      {
        route: 'GET /api/v1/apps/{app}/envs/{env}/deployments/{n}/graph',
        path: appPath('/envs/dev/deployments/1/graph'),
        ok: handler404(/^deployment 1 of .* does not exist/),
      },
      {
        route: 'GET /api/v1/apps/{app}/envs/{env}/deployments/{n}/events',
        path: appPath('/envs/dev/deployments/1/events'),
        ok: handler404(/^deployment 1 of .* does not exist/),
      },
      {
        route: 'GET /api/v1/apps/{app}/deployments/diff',
        path: appPath('/deployments/diff?from=dev:1&to=prod:1'),
        ok: handler404(/^deployment 1 of .*\/dev does not exist/),
      },
      {
        route: 'GET /api/v1/apps/{app}/sets/{setId}',
        path: appPath(`/sets/sha256:${'0'.repeat(64)}`),
        ok: handler404(/has no deployment set sha256:0+/),
      },
      { route: 'GET /api/v1/apps/{app}/envs/{env}/status', path: appPath('/envs/dev/status'), ok: 200 },
      {
        route: 'GET /api/v1/apps/{app}/envs/{env}/workloads/{workload}/logs',
        path: appPath('/envs/dev/workloads/web/logs'),
        ok: handler404(/^workload "web" does not run/),
      },
    ],
    'create an app': [
      {
        route: 'POST /api/v1/apps',
        path: fixed('/api/v1/apps'),
        body: (f) => ({ name: `new-${f.unique}` }),
        ok: 201,
      },
    ],
    'delete an app, manage its members': [
      {
        route: 'DELETE /api/v1/apps/{app}',
        path: appPath(),
        own: true,
        prepare: async (f) => {
          for (const env of ['dev', 'prod']) await admin('DELETE', `/api/v1/apps/${f.app}/envs/${env}`);
        },
        ok: 204,
      },
      { route: 'GET /api/v1/apps/{app}/role-bindings', path: appPath('/role-bindings'), ok: 200 },
      {
        route: 'POST /api/v1/apps/{app}/role-bindings',
        path: appPath('/role-bindings'),
        own: true,
        body: () => ({ role: 'viewer', subject: `user:${OUTSIDER}` }),
        ok: 201,
      },
      {
        route: 'DELETE /api/v1/apps/{app}/role-bindings',
        path: (f) => `/api/v1/apps/${f.app}/role-bindings?role=viewer&subject=user:${OUTSIDER}`,
        own: true,
        prepare: async (f) => {
          await admin('POST', `/api/v1/apps/${f.app}/role-bindings`, {
            role: 'viewer',
            subject: `user:${OUTSIDER}`,
          });
        },
        ok: 204,
      },
    ],
    'create/delete development, preview, staging envs': [
      ...['development', 'preview', 'staging'].map((type): Probe => ({
        route: 'POST /api/v1/apps/{app}/envs',
        path: appPath('/envs'),
        body: (f) => ({ name: `${type.slice(0, 3)}-${f.unique}`, type }),
        ok: 201,
      })),
      { route: 'DELETE /api/v1/apps/{app}/envs/{env}', path: appPath('/envs/dev'), own: true, ok: 200 },
    ],
    'create/delete production envs': [
      {
        route: 'POST /api/v1/apps/{app}/envs',
        path: appPath('/envs'),
        body: (f) => ({ name: `prod-${f.unique}`, type: 'production' }),
        ok: 201,
      },
      { route: 'DELETE /api/v1/apps/{app}/envs/{env}', path: appPath('/envs/prod'), own: true, ok: 200 },
    ],
    'deploy, rollback, promote into non-production': deployProbes('dev'),
    'deploy, rollback, promote into production': deployProbes('prod'),
    'read values; secret values': [
      { route: 'GET /api/v1/apps/{app}/values', path: appPath('/values'), ok: 200, keysOnly: true },
      {
        route: 'GET /api/v1/apps/{app}/values/history',
        path: appPath('/values/history'),
        ok: 200,
        keysOnly: true,
      },
      {
        route: 'GET /api/v1/apps/{app}/envs/{env}/values',
        path: appPath('/envs/dev/values'),
        ok: 200,
        keysOnly: true,
      },
      {
        route: 'GET /api/v1/apps/{app}/envs/{env}/values/history',
        path: appPath('/envs/dev/values/history'),
        ok: 200,
        keysOnly: true,
      },
    ],
    'set values and secrets': [
      {
        route: 'PATCH /api/v1/apps/{app}/values',
        path: appPath('/values'),
        body: () => ({ set: [{ key: 'TOKEN', value: 'x', secret: true }] }),
        ok: 200,
      },
      {
        route: 'PATCH /api/v1/apps/{app}/envs/{env}/values',
        path: appPath('/envs/dev/values'),
        body: () => ({ set: [{ key: 'FEATURE', value: 'on' }] }),
        ok: 200,
      },
    ],
    'read resource outputs (secrets masked)': [
      { route: 'GET /api/v1/apps/{app}/envs/{env}/resources', path: appPath('/envs/dev/resources'), ok: 200 },
      {
        route: 'GET /api/v1/apps/{app}/envs/{env}/workloads/{workload}/resources/{resource}/explain',
        path: appPath('/envs/dev/workloads/web/resources/db/explain'),
        ok: handler404(/^nothing is deployed to/),
      },
    ],
    'delete a stateful resource, delete env data': [
      {
        route: 'DELETE /api/v1/apps/{app}/envs/{env}/resources/{uid}',
        path: appPath('/envs/dev/resources/db'),
        ok: handler404(/^environment .* has no resource "db"/),
      },
      {
        route: 'DELETE /api/v1/apps/{app}/envs/{env}',
        path: appPath('/envs/dev?deleteData=true'),
        own: true,
        ok: 200,
      },
    ],
    'read resource definitions, targets, env types': [
      { route: 'GET /api/v1/resource-definitions', path: fixed('/api/v1/resource-definitions'), ok: 200 },
      {
        route: 'GET /api/v1/resource-definitions/{name}',
        path: fixed('/api/v1/resource-definitions/policy-pg'),
        ok: 200,
      },
      { route: 'GET /api/v1/schema/paved-v1.json', path: fixed('/api/v1/schema/paved-v1.json'), ok: 200 },
      { route: 'GET /api/v1/env-types', path: fixed('/api/v1/env-types'), ok: 200 },
      { route: 'GET /api/v1/env-types/{type}', path: fixed('/api/v1/env-types/production'), ok: 200 },
      { route: 'GET /api/v1/targets', path: fixed('/api/v1/targets'), ok: 200 },
    ],
    'apply definitions, targets, env types': [
      {
        route: 'POST /api/v1/apply',
        path: fixed('/api/v1/apply'),
        body: (f) => ({ documents: [definitionDocument(`pg-${f.unique}`)] }),
        ok: 200,
      },
      {
        route: 'DELETE /api/v1/resource-definitions/{name}',
        path: (f) => `/api/v1/resource-definitions/del-${f.unique}`,
        prepare: async (f) => {
          await admin('POST', '/api/v1/apply', { documents: [definitionDocument(`del-${f.unique}`)] });
        },
        ok: 200,
      },
    ],
    'manage teams': [
      { route: 'GET /api/v1/teams', path: fixed('/api/v1/teams'), ok: 200 },
      {
        route: 'POST /api/v1/teams',
        path: fixed('/api/v1/teams'),
        body: (f) => ({ name: `team-${f.unique}` }),
        ok: 201,
      },
      { route: 'GET /api/v1/teams/{team}', path: fixed('/api/v1/teams/alpha'), ok: 200 },
      {
        route: 'DELETE /api/v1/teams/{team}',
        path: (f) => `/api/v1/teams/gone-${f.unique}`,
        prepare: async (f) => {
          await admin('POST', '/api/v1/teams', { name: `gone-${f.unique}` });
        },
        ok: 204,
      },
      {
        route: 'PUT /api/v1/teams/{team}/members/{name}',
        path: (f) => `/api/v1/teams/grow-${f.unique}/members/${OUTSIDER}`,
        prepare: async (f) => {
          await admin('POST', '/api/v1/teams', { name: `grow-${f.unique}` });
        },
        ok: 200,
      },
      {
        route: 'DELETE /api/v1/teams/{team}/members/{name}',
        path: (f) => `/api/v1/teams/shrink-${f.unique}/members/${OUTSIDER}`,
        prepare: async (f) => {
          await admin('POST', '/api/v1/teams', { name: `shrink-${f.unique}`, members: [OUTSIDER] });
        },
        ok: 204,
      },
    ],
    'manage users and organisation roles': [
      { route: 'GET /api/v1/users', path: fixed('/api/v1/users'), ok: 200 },
      {
        route: 'POST /api/v1/users',
        path: fixed('/api/v1/users'),
        body: (f) => ({ name: `new-user-${f.unique}`, kind: 'service-account' }),
        ok: 201,
      },
      { route: 'GET /api/v1/users/{name}', path: fixed(`/api/v1/users/${OUTSIDER}`), ok: 200 },
      {
        route: 'PATCH /api/v1/users/{name}',
        path: (f) => `/api/v1/users/patched-${f.unique}`,
        prepare: async (f) => {
          await admin('POST', '/api/v1/users', { name: `patched-${f.unique}` });
        },
        body: () => ({ disabled: true }),
        ok: 200,
      },
      { route: 'GET /api/v1/role-bindings', path: fixed('/api/v1/role-bindings'), ok: 200 },
      {
        route: 'POST /api/v1/role-bindings',
        path: fixed('/api/v1/role-bindings'),
        body: (f) => ({ role: 'manager', subject: `user:granted-${f.unique}` }),
        prepare: async (f) => {
          await admin('POST', '/api/v1/users', { name: `granted-${f.unique}` });
        },
        ok: 201,
      },
      {
        route: 'DELETE /api/v1/role-bindings',
        path: (f) => `/api/v1/role-bindings?role=member&subject=user:revoked-${f.unique}`,
        prepare: async (f) => {
          await admin('POST', '/api/v1/users', { name: `revoked-${f.unique}` });
        },
        ok: 204,
      },
      {
        route: 'GET /api/v1/users/{name}/tokens',
        path: fixed(`/api/v1/users/${OUTSIDER}/tokens`),
        ok: 200,
      },
    ],
    'create own tokens; service accounts of an app': [
      { route: 'GET /api/v1/tokens', path: fixed('/api/v1/tokens'), ok: 200, part: 'own' },
      {
        route: 'POST /api/v1/tokens',
        path: fixed('/api/v1/tokens'),
        body: () => ({ name: 'own', expires: '1d' }),
        ok: 201,
        part: 'own',
      },
      {
        route: 'DELETE /api/v1/tokens/{id}',
        path: () => '/api/v1/tokens/{id}',
        prepare: async (_f, caller) => {
          const created = await call('POST', '/api/v1/tokens', {
            token: caller.token,
            body: { name: 'doomed' },
          });
          expect(created.status).toBe(201);
          return { id: created.body.id };
        },
        ok: 204,
        part: 'own',
      },
      {
        route: 'PUT /api/v1/whoami/password',
        path: fixed('/api/v1/whoami/password'),
        body: (_f, caller) => ({ currentPassword: caller.password, newPassword: caller.password }),
        ok: 204,
        part: 'own',
      },
      {
        route: 'POST /api/v1/logout',
        path: fixed('/api/v1/logout'),
        send: async (_f, caller) => {
          const session = await call('POST', '/api/v1/sessions', {
            body: { name: caller.name, password: caller.password },
          });
          expect(session.status).toBe(201);
          const cookie = session.headers
            .getSetCookie()
            .map((value) => value.split(';')[0])
            .join('; ');
          return call('POST', '/api/v1/logout', {
            headers: { cookie, 'x-csrf-token': session.body.csrfToken },
          });
        },
        ok: 204,
        part: 'own',
      },
      {
        route: 'GET /api/v1/apps/{app}/service-accounts',
        path: appPath('/service-accounts'),
        ok: 200,
        part: 'app',
      },
      {
        route: 'POST /api/v1/apps/{app}/service-accounts',
        path: appPath('/service-accounts'),
        body: (f) => ({ name: `ci-${f.unique}`, role: 'developer' }),
        ok: 201,
        part: 'app',
      },
      {
        route: 'DELETE /api/v1/apps/{app}/service-accounts/{name}',
        path: (f) => `/api/v1/apps/${f.app}/service-accounts/sa-${f.unique}`,
        prepare: async (f) => {
          await admin('POST', `/api/v1/apps/${f.app}/service-accounts`, { name: `sa-${f.unique}` });
        },
        ok: 204,
        part: 'app',
      },
      {
        route: 'GET /api/v1/apps/{app}/service-accounts/{name}/tokens',
        path: (f) => `/api/v1/apps/${f.app}/service-accounts/bot-${f.unique}/tokens`,
        prepare: async (f) => {
          await admin('POST', `/api/v1/apps/${f.app}/service-accounts`, { name: `bot-${f.unique}` });
        },
        ok: 200,
        part: 'app',
      },
      {
        route: 'POST /api/v1/apps/{app}/service-accounts/{name}/tokens',
        path: (f) => `/api/v1/apps/${f.app}/service-accounts/mint-${f.unique}/tokens`,
        prepare: async (f) => {
          await admin('POST', `/api/v1/apps/${f.app}/service-accounts`, { name: `mint-${f.unique}` });
        },
        body: () => ({ name: 'ci', expires: '30d' }),
        ok: 201,
        part: 'app',
      },
      {
        route: 'DELETE /api/v1/apps/{app}/service-accounts/{name}/tokens/{id}',
        path: (f) => `/api/v1/apps/${f.app}/service-accounts/rev-${f.unique}/tokens/{id}`,
        prepare: async (f) => {
          await admin('POST', `/api/v1/apps/${f.app}/service-accounts`, { name: `rev-${f.unique}` });
          const created = await admin(
            'POST',
            `/api/v1/apps/${f.app}/service-accounts/rev-${f.unique}/tokens`,
            {
              name: 'ci',
            },
          );
          return { id: created.id };
        },
        ok: 204,
        part: 'app',
      },
      {
        route: 'POST /api/v1/users/{name}/tokens',
        path: fixed(`/api/v1/users/${OUTSIDER}/tokens`),
        body: () => ({ name: 'for-someone-else' }),
        ok: 201,
        part: 'any',
      },
      {
        route: 'DELETE /api/v1/users/{name}/tokens/{id}',
        path: () => `/api/v1/users/${OUTSIDER}/tokens/{id}`,
        prepare: async () => {
          const created = await admin('POST', `/api/v1/users/${OUTSIDER}/tokens`, { name: 'doomed' });
          return { id: created.id };
        },
        ok: 204,
        part: 'any',
      },
    ],
    'read the audit log': [
      { route: 'GET /api/v1/apps/{app}/audit', path: appPath('/audit'), ok: 200, part: 'app' },
      { route: 'GET /api/v1/audit', path: fixed('/api/v1/audit?limit=5'), ok: 200, part: 'org' },
      { route: 'GET /api/v1/audit/verify', path: fixed('/api/v1/audit/verify'), ok: 200, part: 'org' },
    ],
    "read one's own identity and roles": [
      { route: 'GET /api/v1/whoami', path: fixed('/api/v1/whoami'), ok: 200 },
    ],
    "read the server's metrics": [{ route: 'GET /metrics', path: fixed('/metrics'), ok: 200 }],
    'rotate the master key': [
      {
        route: 'POST /api/v1/admin/rotate-master-key',
        path: fixed('/api/v1/admin/rotate-master-key'),
        ok: 200,
      },
    ],
    'public: health, the API document, logging in': [
      { route: 'GET /api/v1/health', path: fixed('/api/v1/health'), ok: 200 },
      { route: 'GET /api/openapi.json', path: fixed('/api/openapi.json'), ok: 200 },
      {
        route: 'POST /api/v1/login',
        path: fixed('/api/v1/login'),
        body: (_f, caller) => ({ name: caller.name, password: caller.password, expires: '1h' }),
        ok: 201,
      },
      {
        route: 'POST /api/v1/sessions',
        path: fixed('/api/v1/sessions'),
        body: (_f, caller) => ({ name: caller.name, password: caller.password }),
        ok: 201,
      },
    ],
  };

  function deployProbes(env: 'dev' | 'prod'): Probe[] {
    return [
      {
        route: 'POST /api/v1/apps/{app}/envs/{env}/deployments',
        path: appPath(`/envs/${env}/deployments`),
        body: plan,
        ok: 200,
      },
      {
        route: 'POST /api/v1/apps/{app}/envs/{env}/deployments/{n}/cancel',
        path: appPath(`/envs/${env}/deployments/1/cancel`),
        ok: handler404(/^deployment 1 of .* does not exist/),
      },
      {
        route: 'POST /api/v1/apps/{app}/envs/{env}/rollback',
        path: appPath(`/envs/${env}/rollback`),
        body: () => ({ deployment: 1 }),
        ok: handler404(/^deployment 1 of .* does not exist/),
      },
      {
        route: 'POST /api/v1/apps/{app}/envs/{env}/promote',
        path: appPath(`/envs/${env}/promote`),
        body: () => ({ from: env === 'dev' ? 'prod' : 'dev', plan: true }),
        ok: { status: 409, message: /has no succeeded deployment, so there is nothing to promote/ },
      },
      {
        // A rotation redeploys the environment: it takes what deploying there takes.
        route: 'POST /api/v1/apps/{app}/envs/{env}/resources/{uid}/rotate-credentials',
        path: appPath(`/envs/${env}/resources/db/rotate-credentials`),
        ok: handler404(/^environment .* has no resource "db"/),
      },
      {
        route: 'GET /api/v1/apps/{app}/contexts/{hash}',
        path: (f) => `/api/v1/apps/${f.app}/contexts/${context.hash}?env=${env}`,
        ok: 200,
      },
      {
        route: 'PUT /api/v1/apps/{app}/contexts/{hash}',
        path: (f) => `/api/v1/apps/${f.app}/contexts/${context.hash}?env=${env}`,
        raw: () => context.gzip,
        headers: { 'content-type': 'application/gzip' },
        ok: 201,
      },
    ];
  }

  function definitionDocument(name: string): Record<string, unknown> {
    return {
      file: `${name}.yaml`,
      apiVersion: 'paved.dev/v1',
      kind: 'ResourceDefinition',
      metadata: { name },
      spec: { type: 'postgres', driver: 'echo', criteria: [{ app: `only-${name}` }] },
    };
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'paved-policy-'));
    const dataDir = join(root, '.paved');
    server = await startServer({
      dataDir,
      port: 0,
      gatewayPort: 0,
      logDestination: log,
      workDir: join(root, 'work'),
    });
    ({ token: adminToken } = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as {
      token: string;
    });
    context = await contextOf({ 'server.mjs': 'console.log("hi")' });
    await admin('POST', '/api/v1/teams', { name: 'alpha' });
    await admin('POST', '/api/v1/teams', { name: 'beta' });
    await user('c-member', 'member', ['alpha']);
    await user('c-viewer', 'member');
    await user('c-developer', 'member');
    await user('c-dev-deployer', 'member');
    await user('c-owner', 'member');
    await user('c-manager', 'manager');
    await user('c-admin', 'administrator');
    await user(OUTSIDER, 'member', ['beta']);
    await user(OWNER_DEPLOYER, 'member');
    for (const name of ['c-dev-deployer', OWNER_DEPLOYER]) {
      await admin('POST', '/api/v1/role-bindings', {
        role: 'deployer',
        subject: `user:${name}`,
        envType: 'production',
      });
    }
    await admin('POST', '/api/v1/apply', { documents: [definitionDocument('policy-pg')] });
    const upload = await call('PUT', `/api/v1/apps/${(await fixture()).app}/contexts/${context.hash}`, {
      token: adminToken,
      raw: context.gzip,
      headers: { 'content-type': 'application/gzip' },
    });
    expect(upload.status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  const issueRows = parseTable(ISSUE_TABLE);
  const extraRows = parseTable(EXTRA_TABLE);
  const allRows = new Map([...issueRows, ...extraRows]);

  it('has probes for exactly the rows of the tables', () => {
    expect([...issueRows.keys()]).toHaveLength(17);
    expect(Object.keys(PROBES).sort()).toEqual([...allRows.keys()].sort());
  });

  it("maps every route of the server's route table to a row", async () => {
    const document = await call('GET', '/api/openapi.json');
    const routes = Object.entries(document.body.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const probed = new Set(Object.values(PROBES).flatMap((probes) => probes.map((probe) => probe.route)));
    const unmapped = routes.filter((route) => !probed.has(route));
    expect(unmapped, 'routes without a row in the access-control table of this test').toEqual([]);
    const stale = [...probed].filter((route) => !routes.includes(route));
    expect(stale, 'probes of routes the server does not have').toEqual([]);
  });

  /** Sends a probe as `caller` on a fixture; `prepare` runs first. */
  async function send(probe: Probe, f: Fixture, caller: Caller): Promise<Answer> {
    const ids = (await probe.prepare?.(f, caller)) ?? {};
    if (probe.send !== undefined) return probe.send(f, caller);
    const path = probe.path(f).replace('{id}', ids.id ?? '');
    return call(probe.route.split(' ')[0]!, path, {
      token: caller.token,
      ...(probe.body === undefined ? {} : { body: probe.body(f, caller) }),
      ...(probe.raw === undefined ? {} : { raw: probe.raw() }),
      ...(probe.headers === undefined ? {} : { headers: probe.headers }),
    });
  }

  function expectAllowed(probe: Probe, answer: Answer, f: Fixture, what: string): void {
    if (typeof probe.ok === 'number') {
      expect(answer.status, `${what}: ${answer.text.slice(0, 300)}`).toBe(probe.ok);
    } else {
      expect(answer.status, `${what}: ${answer.text.slice(0, 300)}`).toBe(probe.ok.status);
      expect(answer.body?.error?.message, what).toMatch(probe.ok.message);
    }
    if (probe.listsApps === true) {
      expect(
        answer.body.items.map((app: { name: string }) => app.name),
        what,
      ).toContain(f.app);
    }
    if (probe.keysOnly === true) {
      expect(answer.text, what).not.toContain(SECRET_VALUE);
      const secrets = (answer.body.items as { key: string; secret: boolean; value?: string }[]).filter(
        (item) => item.secret,
      );
      expect(secrets.length, what).toBeGreaterThan(0);
      for (const item of secrets) expect(item.value, `${what}: ${item.key}`).toBeUndefined();
    }
  }

  function expectRefused(probe: Probe, answer: Answer, f: Fixture, what: string, hidden: boolean): void {
    if (probe.listsApps === true) {
      // A list is not refused: the app is just not on it.
      expect(answer.status, what).toBe(200);
      expect(
        answer.body.items.map((app: { name: string }) => app.name),
        what,
      ).not.toContain(f.app);
      return;
    }
    if (hidden) {
      expect(answer.status, `${what}: ${answer.text}`).toBe(404);
      expect(answer.body, what).toEqual({
        error: {
          code: 'NOT_FOUND',
          message: `app "${f.app}" does not exist; create it first (paved apps create ${f.app})`,
          details: { app: f.app },
        },
      });
      return;
    }
    expect(answer.status, `${what}: ${answer.text.slice(0, 300)}`).toBe(403);
    expect(answer.body.error.code, what).toBe('FORBIDDEN');
  }

  /** Whether a cell allows a probe, for the column's own principal. */
  function allows(cell: string, probe: Probe): boolean {
    switch (cell) {
      case '✔':
      case "own team's apps":
      case 'keys only':
        return true;
      case '✘':
      case '✔ only with deployer':
        return false;
      case 'own only':
        return probe.part === 'own';
      case "own + app's":
        return probe.part === 'own' || probe.part === 'app';
      case "their app's":
        return probe.part === 'app';
      default:
        throw new Error(`the table has a cell this test does not know: "${cell}"`);
    }
  }

  for (const [action, row] of allRows) {
    it(`row "${action}": every cell`, async () => {
      const probes = PROBES[action] ?? [];
      expect(probes.length, action).toBeGreaterThan(0);
      const shared = new Map<Column, Fixture>();
      for (const column of COLUMNS) {
        const cell = row.get(column)!;
        const caller = callers.get(COLUMN_USERS[column])!;
        for (const probe of probes) {
          const f = probe.own === true || !shared.has(column) ? await fixture() : shared.get(column)!;
          if (probe.own !== true) shared.set(column, f);
          const what = `${action} | ${column} (${cell}) | ${probe.route}`;
          const answer = await send(probe, f, caller);
          if (allows(cell, probe)) expectAllowed(probe, answer, f, what);
          else expectRefused(probe, answer, f, what, false);

          if (cell === "own team's apps") {
            // A member of another team: answered as if the app did not exist.
            const other = await fixture();
            expectRefused(
              probe,
              await send(probe, other, callers.get(OUTSIDER)!),
              other,
              `${what} [other team]`,
              true,
            );
          }
          if (cell === '✔ only with deployer') {
            const again = await fixture();
            expectAllowed(
              probe,
              await send(probe, again, callers.get(OWNER_DEPLOYER)!),
              again,
              `${what} [owner + deployer(production)]`,
            );
          }
        }
      }
    }, 120_000);
  }

  it('recorded every refusal of the run in the audit log, and the chain holds', async () => {
    const denied = await admin('GET', '/api/v1/audit?outcome=denied&limit=500');
    expect(denied.items.length).toBeGreaterThan(100);
    for (const entry of denied.items) {
      expect([401, 403, 404, 429]).toContain(entry.status);
      expect(entry.actorName).toMatch(/^c-/);
    }
    expect((await admin('GET', '/api/v1/audit/verify')).ok).toBe(true);
  });
});
