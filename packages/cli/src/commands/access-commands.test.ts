import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../testing/run-cli.js';
import type { FakeAnswer, FakeRequest } from '../testing/run-cli.js';

const URL = 'http://127.0.0.1:7070';
const TOKEN = `paved_${'a'.repeat(43)}`;
const user = {
  id: 'u-1',
  name: 'alice',
  kind: 'user',
  disabled: false,
  hasPassword: true,
  createdAt: '2026-01-01T00:00:00.000Z',
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paved-cli-access-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function fake(answers: (request: FakeRequest) => FakeAnswer) {
  const requests: FakeRequest[] = [];
  const env = { PAVED_URL: URL, PAVED_TOKEN: 'admin-token', XDG_CONFIG_HOME: join(dir, 'config') };
  return {
    requests,
    run: (argv: string[], extraEnv: Record<string, string | undefined> = {}) =>
      runCli(argv, { env: { ...env, ...extraEnv }, cwd: dir, answer: answers, requests }),
  };
}

describe('paved login and logout', () => {
  it('logs in with PAVED_PASSWORD, saves the token for this server, uses it, and logs out', async () => {
    const { requests, run } = fake((request) => {
      if (request.path === '/api/v1/login') {
        return {
          status: 201,
          body: {
            id: 't-1',
            name: 'login',
            principal: 'alice',
            expiresAt: '2026-02-01T00:00:00.000Z',
            token: TOKEN,
            user,
          },
        };
      }
      if (request.path === '/api/v1/whoami')
        return { body: { id: 'u-1', name: 'alice', kind: 'user', roles: [] } };
      return { status: 204 };
    });
    const login = await run(['login', '--user', 'alice'], {
      PAVED_TOKEN: undefined,
      PAVED_PASSWORD: 'correct horse battery',
    });
    expect(login.code).toBe(0);
    const file = join(dir, 'config', 'paved', 'credentials.json');
    expect(login.stdout).toBe(
      `Logged in to ${URL} as alice. The token (expires 2026-02-01T00:00:00.000Z) is saved in ${file}.\n`,
    );
    expect(requests[0]!.body).toEqual({ name: 'alice', password: 'correct horse battery' });
    expect(requests[0]!.headers.get('authorization')).toBeNull();
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ [URL]: TOKEN });

    const whoami = await run(['whoami', '-o', 'json'], { PAVED_TOKEN: undefined });
    expect(whoami.code).toBe(0);
    expect(requests.at(-1)!.headers.get('authorization')).toBe(`Bearer ${TOKEN}`);

    const logout = await run(['logout'], { PAVED_TOKEN: undefined });
    expect(logout.stdout).toBe(`Logged out of ${URL}: the token is revoked and forgotten.\n`);
    expect(requests.at(-1)).toMatchObject({ method: 'POST', path: '/api/v1/logout' });
    expect(requests.at(-1)!.headers.get('authorization')).toBe(`Bearer ${TOKEN}`);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({});
    expect((await run(['logout'])).stdout).toBe(`Not logged in to ${URL}: ${file} has no token for it.\n`);
  });

  it('reads the password from a file, and refuses to go without one', async () => {
    const { requests, run } = fake(() => ({
      status: 429,
      body: { error: { code: 'TOO_MANY_REQUESTS', message: 'too many failed logins for user "alice"' } },
    }));
    await writeFile(join(dir, 'pw'), 'from the file\n');
    const locked = await run(['login', URL, '--user', 'alice', '--password-file', 'pw']);
    expect(requests[0]!.body).toEqual({ name: 'alice', password: 'from the file' });
    expect(locked.code).toBe(4);
    expect(locked.stderr).toContain('error: too many failed logins for user "alice"');

    const none = await run(['login', '--user', 'alice']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      'no password for password of alice on http://127.0.0.1:7070: give --password-file FILE, set PAVED_PASSWORD, or run it at a terminal to type it',
    );
  });
});

describe('paved users, teams, tokens and roles', () => {
  it('creates a user with a password from a file, and an app service account through the app', async () => {
    const { requests, run } = fake((request) => ({
      status: 201,
      body: request.path.includes('service-accounts')
        ? {
            ...user,
            name: 'shop-ci',
            kind: 'service-account',
            app: 'shop',
            roles: [
              {
                role: 'developer',
                subject: 'service-account:shop-ci',
                scope: { kind: 'app', app: 'shop' },
                createdAt: '',
              },
            ],
          }
        : {
            ...user,
            roles: [{ role: 'member', subject: 'user:alice', scope: { kind: 'org' }, createdAt: '' }],
          },
    }));
    await writeFile(join(dir, 'alice.pw'), 'a long enough password\n');
    const created = await run([
      'users',
      'create',
      'alice',
      '--team',
      'web',
      '--team',
      'ops',
      '--password-file',
      'alice.pw',
    ]);
    expect(created.stdout).toBe('Created user "alice" with member on the organisation.\n');
    expect(requests[0]).toMatchObject({
      method: 'POST',
      path: '/api/v1/users',
      body: { name: 'alice', kind: 'user', password: 'a long enough password', teams: ['web', 'ops'] },
    });
    const sa = await run([
      'users',
      'create',
      'shop-ci',
      '--service-account',
      '--app',
      'shop',
      '--role',
      'developer',
    ]);
    expect(sa.stdout).toBe('Created service account "shop-ci" of app shop with developer on app shop.\n');
    expect(requests[1]).toMatchObject({
      path: '/api/v1/apps/shop/service-accounts',
      body: { name: 'shop-ci', role: 'developer' },
    });
  });

  it('prints a new token once, says so, and reaches service accounts through their app', async () => {
    const created = {
      id: 't-9',
      name: 'ci',
      principal: 'shop-ci',
      app: 'shop',
      expiresAt: '2026-04-01T00:00:00.000Z',
      createdAt: '',
      token: TOKEN,
    };
    const { requests, run } = fake(() => ({ status: 201, body: created }));
    const table = await run([
      'tokens',
      'create',
      'ci',
      '--for',
      'shop-ci',
      '--app',
      'shop',
      '--expires',
      '30d',
    ]);
    expect(table.stdout).toContain(`\n  ${TOKEN}\n`);
    expect(table.stdout).toContain('It is shown this once and stored only as a hash');
    expect(requests[0]).toMatchObject({
      path: '/api/v1/apps/shop/service-accounts/shop-ci/tokens',
      body: { name: 'ci', expires: '30d' },
    });
    const json = await run(['tokens', 'create', 'laptop', '--app', 'shop', '-o', 'json']);
    expect(JSON.parse(json.stdout)).toEqual(created);
    expect(requests[1]).toMatchObject({ path: '/api/v1/tokens', body: { name: 'laptop', app: 'shop' } });
    const bad = await run(['tokens', 'list', '--app', 'shop']);
    expect(bad.code).toBe(2);
  });

  it('grants app roles through the app and others through the organisation; one subject only', async () => {
    const { requests, run } = fake(() => ({ status: 201, body: {} }));
    expect((await run(['roles', 'grant', 'developer', '--team', 'web', '--app', 'shop'])).stdout).toBe(
      'Granted role developer of team:web on app shop.\n',
    );
    await run(['roles', 'grant', 'deployer', '--user', 'alice', '--env-type', 'production']);
    expect(requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /api/v1/apps/shop/role-bindings',
      'POST /api/v1/role-bindings',
    ]);
    expect(requests[1]!.body).toEqual({ role: 'deployer', subject: 'user:alice', envType: 'production' });
    const two = await run(['roles', 'revoke', 'viewer', '--user', 'a', '--team', 'b']);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('give one of --user, --team and --service-account, not several');
    const none = await run(['roles', 'grant', 'viewer', '--app', 'shop']);
    expect(none.stderr).toContain('to whom? give --user NAME, --team NAME or --service-account NAME');
  });
});

describe('paved audit', () => {
  const entry = (seq: number) => ({
    seq,
    at: `2026-01-01T00:00:0${seq}.000Z`,
    actorName: 'alice',
    actorKind: 'user',
    action: 'POST /api/v1/apps',
    object: '/api/v1/apps',
    outcome: 'succeeded',
    status: 201,
    prevHash: '0'.repeat(64),
    hash: `${seq}`.repeat(64),
  });

  it('lists with filters, exports JSON lines oldest first, page by page', async () => {
    const { requests, run } = fake((request) => ({
      body: request.path.includes('after=')
        ? { items: [entry(3)], next: null }
        : { items: [entry(1), entry(2)], next: 'c' },
    }));
    const list = await run([
      'audit',
      'list',
      '--since',
      '24h',
      '--actor',
      'alice',
      '--app',
      'shop',
      '-o',
      'json',
    ]);
    expect(JSON.parse(list.stdout).map((item: { seq: number }) => item.seq)).toEqual([1, 2, 3]);
    expect(requests[0]!.path).toBe('/api/v1/apps/shop/audit?since=24h&actor=alice&limit=100');
    const exported = await run(['audit', 'export']);
    expect(exported.stdout.split('\n')).toEqual([
      JSON.stringify(entry(1)),
      JSON.stringify(entry(2)),
      JSON.stringify(entry(3)),
      '',
    ]);
    expect(requests[2]!.path).toBe('/api/v1/audit?order=asc&limit=500');
  });

  it('verifies: exit 0 when intact, 5 naming the broken entry otherwise', async () => {
    let broken = false;
    const { run } = fake(() => ({
      body: broken
        ? {
            ok: false,
            entries: 1,
            head: { seq: 3, hash: 'h' },
            broken: { seq: 2, reason: 'entry 2 was changed after it was written' },
          }
        : { ok: true, entries: 3, head: { seq: 3, hash: 'h' } },
    }));
    const intact = await run(['audit', 'verify']);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toBe('The audit log is intact: 3 entries, head #3 h.\n');
    broken = true;
    const bad = await run(['audit', 'verify']);
    expect(bad.code).toBe(5);
    expect(bad.stderr).toContain(
      'error: the audit log is broken at entry 2: entry 2 was changed after it was written (1 entries before it check out)',
    );
    const json = await run(['audit', 'verify', '-o', 'json']);
    expect(json.code).toBe(5);
    expect(JSON.parse(json.stdout).broken.seq).toBe(2);
  });
});
