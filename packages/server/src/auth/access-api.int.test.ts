/**
 * Users, teams, tokens, service accounts, role bindings, portal sessions and the audit log
 * through the API, on SQLite and PostgreSQL.
 */
import { describeEachDatabase } from '@paved/store/testing/test-databases';
import { beforeEach, describe, expect, it } from 'vitest';
import { jsonPayloadDigest } from '../audit/payload-digest.js';
import { createTestServer, type TestResponse, type TestServer } from '../testing/test-server.js';

const PASSWORD = 'correct horse battery staple';

describeEachDatabase('access-control API', (getStore, _engine, getClock) => {
  let server: TestServer;
  let root: { id: string; token: string; tokenId: string };
  const as =
    (token: string) =>
    (method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<TestResponse> =>
      server.request(method, path, { token, body, ...(headers === undefined ? {} : { headers }) });
  let admin: ReturnType<typeof as>;

  beforeEach(async () => {
    server = createTestServer(getStore(), getClock());
    root = await server.principal('root', { administrator: true });
    admin = as(root.token);
  });

  async function tokenFor(name: string): Promise<string> {
    const created = await admin('POST', `/api/v1/users/${name}/tokens`, { name: 'test' });
    expect(created.status).toBe(201);
    return created.body.token as string;
  }

  describe('users', () => {
    it('creates users with a password, an organisation role and teams, never showing the hash', async () => {
      await admin('POST', '/api/v1/teams', { name: 'web' });
      const created = await admin('POST', '/api/v1/users', {
        name: 'alice',
        password: PASSWORD,
        teams: ['web'],
      });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        id: expect.any(String),
        name: 'alice',
        kind: 'user',
        disabled: false,
        hasPassword: true,
        createdAt: '2026-01-01T00:00:00.000Z',
        teams: ['web'],
        roles: [
          { role: 'member', subject: 'user:alice', scope: { kind: 'org' }, createdAt: expect.any(String) },
        ],
      });
      expect(created.text).not.toContain('scrypt');
      expect((await admin('POST', '/api/v1/users', { name: 'alice' })).status).toBe(409);
      const short = await admin('POST', '/api/v1/users', { name: 'bob', password: 'short' });
      expect(short.status).toBe(400);
      expect(short.body.error.details.problems[0].message).toMatch(
        /at least 12 characters \(this one has 5\)/,
      );
      expect(short.text).not.toContain('"short"');
      const sa = await admin('POST', '/api/v1/users', {
        name: 'ci',
        kind: 'service-account',
        password: PASSWORD,
      });
      expect(sa.status).toBe(400);
      expect((await admin('GET', '/api/v1/users/alice')).body.teams).toEqual(['web']);
      const list = await admin('GET', '/api/v1/users?kind=user');
      expect(list.body.items.map((user: { name: string }) => user.name)).toEqual(['alice', 'root']);
      expect((await admin('GET', '/api/v1/users/nobody')).status).toBe(404);
    });

    it('disables a user: its tokens stop working on the next request, and enables it again', async () => {
      await admin('POST', '/api/v1/users', { name: 'alice' });
      const token = await tokenFor('alice');
      expect((await as(token)('GET', '/api/v1/whoami')).status).toBe(200);
      expect((await admin('PATCH', '/api/v1/users/alice', { disabled: true })).body.disabled).toBe(true);
      expect((await as(token)('GET', '/api/v1/whoami')).status).toBe(401);
      expect((await admin('PATCH', '/api/v1/users/alice', { disabled: false })).status).toBe(200);
      expect((await as(token)('GET', '/api/v1/whoami')).status).toBe(200);
      const self = await admin('PATCH', '/api/v1/users/root', { disabled: true });
      expect(self.status).toBe(400);
      expect(self.body.error.message).toBe('you cannot disable yourself; ask another administrator');
    });

    it('lets a user change its own password, given the current one', async () => {
      await admin('POST', '/api/v1/users', { name: 'alice', password: PASSWORD });
      const token = await tokenFor('alice');
      const wrong = await as(token)('PUT', '/api/v1/whoami/password', {
        currentPassword: 'not the password',
        newPassword: 'another long passphrase',
      });
      expect(wrong.status).toBe(403);
      const changed = await as(token)('PUT', '/api/v1/whoami/password', {
        currentPassword: PASSWORD,
        newPassword: 'another long passphrase',
      });
      expect(changed.status).toBe(204);
      expect(
        (await server.request('POST', '/api/v1/login', { body: { name: 'alice', password: PASSWORD } }))
          .status,
      ).toBe(401);
      const login = await server.request('POST', '/api/v1/login', {
        body: { name: 'alice', password: 'another long passphrase' },
      });
      expect(login.status).toBe(201);
    });
  });

  describe('teams', () => {
    it('creates teams with members, changes them, and gives members the read of their apps', async () => {
      await admin('POST', '/api/v1/users', { name: 'alice' });
      await admin('POST', '/api/v1/users', { name: 'bob' });
      const web = await admin('POST', '/api/v1/teams', {
        name: 'web',
        description: 'Web people',
        members: ['alice'],
      });
      expect(web.status).toBe(201);
      expect(web.body).toMatchObject({
        name: 'web',
        description: 'Web people',
        members: ['alice'],
        roles: [],
      });
      expect((await admin('PUT', '/api/v1/teams/web/members/bob')).body.members).toEqual(['alice', 'bob']);
      expect((await admin('DELETE', '/api/v1/teams/web/members/alice')).status).toBe(204);
      expect((await admin('DELETE', '/api/v1/teams/web/members/alice')).status).toBe(404);
      expect(
        (await admin('GET', '/api/v1/teams')).body.items.map((team: { name: string }) => team.name),
      ).toEqual(['web']);

      await admin('POST', '/api/v1/apps', { name: 'shop', team: 'web' });
      const bob = await tokenFor('bob');
      expect((await as(bob)('GET', '/api/v1/apps/shop')).status).toBe(200);
      expect((await as(bob)('GET', '/api/v1/apps/shop/values')).status).toBe(403);
      const alice = await tokenFor('alice');
      expect((await as(alice)('GET', '/api/v1/apps/shop')).status).toBe(404);

      const owning = await admin('DELETE', '/api/v1/teams/web');
      expect(owning.status).toBe(409);
      expect(owning.body.error.message).toBe(
        'team "web" owns apps shop; give them another team or delete them first',
      );
    });

    it("grants a team's role to its members, and deleting the team takes the role away", async () => {
      await admin('POST', '/api/v1/users', { name: 'alice' });
      await admin('POST', '/api/v1/teams', { name: 'ops', members: ['alice'] });
      await admin('POST', '/api/v1/apps', { name: 'shop' });
      const granted = await admin('POST', '/api/v1/apps/shop/role-bindings', {
        role: 'developer',
        subject: 'team:ops',
      });
      expect(granted.body).toMatchObject({
        role: 'developer',
        subject: 'team:ops',
        scope: { kind: 'app', app: 'shop' },
      });
      const alice = as(await tokenFor('alice'));
      expect(
        (await alice('PATCH', '/api/v1/apps/shop/values', { set: [{ key: 'A', value: '1' }] })).status,
      ).toBe(200);
      const whoami = await alice('GET', '/api/v1/whoami');
      expect(whoami.body.roles).toContainEqual({ role: 'developer', scope: { kind: 'app', app: 'shop' } });
      expect((await admin('DELETE', '/api/v1/teams/ops')).status).toBe(204);
      expect(
        (await alice('PATCH', '/api/v1/apps/shop/values', { set: [{ key: 'A', value: '2' }] })).status,
      ).toBe(403);
      expect(await server.store.grants.list({ subject: 'team:ops' })).toEqual([]);
    });
    it('refuses a manager joining a team whose roles it could not grant itself', async () => {
      await admin('POST', '/api/v1/users', { name: 'manny', role: 'manager' });
      await admin('POST', '/api/v1/apps', { name: 'shop' });
      await admin('POST', '/api/v1/teams', { name: 'owners' });
      await admin('POST', '/api/v1/teams', { name: 'readers' });
      await admin('POST', '/api/v1/apps/shop/role-bindings', { role: 'owner', subject: 'team:owners' });
      const manager = as(await tokenFor('manny'));
      const refused = await manager('PUT', '/api/v1/teams/owners/members/manny');
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe(
        'not allowed: team "owners" holds role "owner" on app "shop", so adding a member grants it that role, which needs apps.members on app "shop"; ask the app\'s owners or an administrator',
      );
      expect((await server.store.teams.members('owners')).map((member) => member.name)).toEqual([]);
      // A team without roles is the manager's to run; an administrator may add to any.
      expect((await manager('PUT', '/api/v1/teams/readers/members/manny')).status).toBe(200);
      expect((await admin('PUT', '/api/v1/teams/owners/members/manny')).status).toBe(200);
    });
  });

  describe('tokens', () => {
    it('shows a token once, lists it without its secret, and revokes it for the next request', async () => {
      await admin('POST', '/api/v1/users', { name: 'alice' });
      const alice = as(await tokenFor('alice'));
      getClock().advance(1000);
      const created = await alice('POST', '/api/v1/tokens', { name: 'laptop', expires: '30d' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'laptop',
        principal: 'alice',
        expiresAt: '2026-01-31T00:00:01.000Z',
        token: expect.stringMatching(/^paved_[A-Za-z0-9_-]{43}$/),
      });
      const laptop = as(created.body.token);
      expect((await laptop('GET', '/api/v1/whoami')).body.name).toBe('alice');
      const list = await alice('GET', '/api/v1/tokens');
      expect(list.body.items.map((token: { name: string }) => token.name)).toEqual(['test', 'laptop']);
      expect(list.text).not.toContain(created.body.token);
      expect(list.body.items[1]).not.toHaveProperty('token');
      expect(list.body.items[1]).not.toHaveProperty('hash');

      expect((await alice('DELETE', `/api/v1/tokens/${created.body.id}`)).status).toBe(204);
      expect((await laptop('GET', '/api/v1/whoami')).status).toBe(401);
      // Someone else's token is as good as absent.
      const rootTokens = await admin('GET', '/api/v1/tokens');
      expect((await alice('DELETE', `/api/v1/tokens/${rootTokens.body.items[0].id}`)).status).toBe(404);
    });

    it('logs out by revoking the token the request came with', async () => {
      await admin('POST', '/api/v1/users', { name: 'alice' });
      const token = await tokenFor('alice');
      expect((await as(token)('POST', '/api/v1/logout')).status).toBe(204);
      expect((await as(token)('GET', '/api/v1/whoami')).status).toBe(401);
    });

    it('defaults to 90 days, refuses more than a year, and restricts a token to one app', async () => {
      await admin('POST', '/api/v1/apps', { name: 'shop' });
      await admin('POST', '/api/v1/apps', { name: 'blog' });
      const long = await admin('POST', '/api/v1/tokens', { name: 'forever', expires: '400d' });
      expect(long.status).toBe(400);
      expect(long.body.error.message).toBe('a token lives at most 365d; "400d" is longer');
      const plain = await admin('POST', '/api/v1/tokens', { name: 'plain' });
      expect(plain.body.expiresAt).toBe('2026-04-01T00:00:00.000Z');
      const scoped = await admin('POST', '/api/v1/tokens', { name: 'shop-only', app: 'shop' });
      expect(scoped.body.app).toBe('shop');
      const shopOnly = as(scoped.body.token);
      expect((await shopOnly('GET', '/api/v1/apps/shop')).status).toBe(200);
      expect((await shopOnly('GET', '/api/v1/apps/blog')).status).toBe(403);
      // A restricted token cannot mint tokens: that is not about its app.
      expect((await shopOnly('POST', '/api/v1/tokens', { name: 'escape' })).status).toBe(403);
    });

    it("lets an app's owner run its service accounts, restricted to the app", async () => {
      await admin('POST', '/api/v1/users', { name: 'olivia' });
      await admin('POST', '/api/v1/apps', { name: 'shop' });
      await admin('POST', '/api/v1/apps', { name: 'blog' });
      await admin('POST', '/api/v1/apps/shop/role-bindings', { role: 'owner', subject: 'user:olivia' });
      const owner = as(await tokenFor('olivia'));
      const account = await owner('POST', '/api/v1/apps/shop/service-accounts', {
        name: 'shop-ci',
        role: 'developer',
      });
      expect(account.status).toBe(201);
      expect(account.body).toMatchObject({ name: 'shop-ci', kind: 'service-account', app: 'shop' });
      const minted = await owner('POST', '/api/v1/apps/shop/service-accounts/shop-ci/tokens', { name: 'ci' });
      expect(minted.body).toMatchObject({ principal: 'shop-ci', app: 'shop' });
      const ci = as(minted.body.token);
      expect(
        (await ci('PATCH', '/api/v1/apps/shop/values', { set: [{ key: 'A', value: '1' }] })).status,
      ).toBe(200);
      expect((await ci('GET', '/api/v1/apps/blog')).status).toBe(404);
      // Another app's owner does not see them.
      expect((await owner('GET', '/api/v1/apps/blog/service-accounts')).status).toBe(404);
      expect((await owner('GET', '/api/v1/apps/shop/service-accounts/root/tokens')).status).toBe(404);

      const listed = await owner('GET', '/api/v1/apps/shop/service-accounts/shop-ci/tokens');
      expect(listed.body.items).toHaveLength(1);
      expect((await owner('DELETE', '/api/v1/apps/shop/service-accounts/shop-ci')).status).toBe(204);
      expect((await ci('GET', '/api/v1/apps/shop')).status).toBe(401);
    });
  });

  describe('role bindings', () => {
    it('grants and revokes roles on every scope, refusing roles on the wrong level', async () => {
      await admin('POST', '/api/v1/users', { name: 'alice' });
      await admin('POST', '/api/v1/apps', { name: 'shop' });
      const deployer = await admin('POST', '/api/v1/role-bindings', {
        role: 'deployer',
        subject: 'user:alice',
        envType: 'production',
      });
      expect(deployer.status).toBe(201);
      expect(
        (await admin('POST', '/api/v1/role-bindings', { role: 'deployer', subject: 'user:alice' })).body.error
          .message,
      ).toBe('role "deployer" is granted per environment type, not on the organisation');
      expect(
        (await admin('POST', '/api/v1/role-bindings', { role: 'viewer', subject: 'user:alice', app: 'nope' }))
          .status,
      ).toBe(404);
      expect(
        (await admin('POST', '/api/v1/role-bindings', { role: 'viewer', subject: 'user:ghost', app: 'shop' }))
          .status,
      ).toBe(404);
      await admin('POST', '/api/v1/role-bindings', { role: 'viewer', subject: 'user:alice', app: 'shop' });
      const mine = await admin('GET', '/api/v1/role-bindings?subject=user:alice');
      expect(mine.body.items.map((binding: { role: string }) => binding.role).sort()).toEqual([
        'deployer',
        'member',
        'viewer',
      ]);
      expect(
        (await admin('GET', '/api/v1/apps/shop/role-bindings')).body.items.map(
          (binding: { subject: string }) => binding.subject,
        ),
      ).toEqual(['user:alice']);
      expect(
        (await admin('DELETE', '/api/v1/apps/shop/role-bindings?role=viewer&subject=user:alice')).status,
      ).toBe(204);
      expect(
        (await admin('DELETE', '/api/v1/apps/shop/role-bindings?role=viewer&subject=user:alice')).status,
      ).toBe(404);
      const self = await admin('DELETE', '/api/v1/role-bindings?role=administrator&subject=user:root');
      expect(self.status).toBe(400);
    });
  });

  describe('portal sessions', () => {
    async function login(): Promise<{ cookie: string; csrf: string; response: TestResponse }> {
      await admin('POST', '/api/v1/users', { name: 'alice', password: PASSWORD });
      await admin('POST', '/api/v1/apps', { name: 'shop' });
      await admin('POST', '/api/v1/apps/shop/role-bindings', { role: 'developer', subject: 'user:alice' });
      const response = await server.request('POST', '/api/v1/sessions', {
        body: { name: 'alice', password: PASSWORD },
      });
      expect(response.status).toBe(201);
      const cookie = response.headers
        .getSetCookie()
        .map((value) => value.split(';')[0])
        .join('; ');
      return { cookie, csrf: response.body.csrfToken as string, response };
    }

    it('takes logins as JSON only, so that no other site can post a login form', async () => {
      await admin('POST', '/api/v1/users', { name: 'alice', password: PASSWORD });
      for (const path of ['/api/v1/sessions', '/api/v1/login']) {
        const form = await server.request('POST', path, {
          rawBody: JSON.stringify({ name: 'alice', password: PASSWORD }),
          headers: { 'content-type': 'text/plain' },
        });
        expect(form.status, path).toBe(400);
        expect(form.body.error.message).toBe('log in with a JSON body: send Content-Type: application/json');
      }
    });

    it('sets an HTTP-only, SameSite=Strict session cookie and a readable CSRF cookie', async () => {
      const { response, csrf } = await login();
      const [session, csrfCookie] = response.headers.getSetCookie();
      expect(session).toMatch(
        /^paved_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; SameSite=Strict; HttpOnly$/,
      );
      expect(csrfCookie).toBe(`paved_csrf=${csrf}; Path=/; Max-Age=43200; SameSite=Strict`);
      expect(response.body).toMatchObject({ user: { name: 'alice' }, expiresAt: '2026-01-01T12:00:00.000Z' });
    });

    it('needs the CSRF token on every request of a session that changes something', async () => {
      const { cookie, csrf } = await login();
      const headers = { cookie };
      expect((await server.request('GET', '/api/v1/whoami', { headers })).body.name).toBe('alice');
      const body = { set: [{ key: 'A', value: '1' }] };
      const missing = await server.request('PATCH', '/api/v1/apps/shop/values', { headers, body });
      expect(missing.status).toBe(403);
      expect(missing.body.error.details).toEqual({ csrf: 'missing' });
      const entry = (await server.store.audit.list({}, { limit: 1 })).items[0];
      expect(entry).toMatchObject({
        actorName: 'alice',
        outcome: 'denied',
        status: 403,
        tokenId: expect.stringMatching(/^session:/),
      });
      const wrong = await server.request('PATCH', '/api/v1/apps/shop/values', {
        headers: { ...headers, 'x-csrf-token': `${csrf.slice(0, -2)}xx` },
        body,
      });
      expect(wrong.body.error.details).toEqual({ csrf: 'wrong' });
      const right = await server.request('PATCH', '/api/v1/apps/shop/values', {
        headers: { ...headers, 'x-csrf-token': csrf },
        body,
      });
      expect(right.status).toBe(200);
    });

    it('ends a session on logout, after its lifetime, and when the password changes', async () => {
      const { cookie, csrf } = await login();
      const again = await server.request('POST', '/api/v1/sessions', {
        body: { name: 'alice', password: PASSWORD },
      });
      const second = again.headers
        .getSetCookie()
        .map((value) => value.split(';')[0])
        .join('; ');

      const logout = await server.request('POST', '/api/v1/logout', {
        headers: { cookie, 'x-csrf-token': csrf },
      });
      expect(logout.status).toBe(204);
      expect(logout.headers.getSetCookie()[0]).toMatch(/^paved_session=; Path=\/; Max-Age=0;/);
      expect((await server.request('GET', '/api/v1/whoami', { headers: { cookie } })).status).toBe(401);
      expect((await server.request('GET', '/api/v1/whoami', { headers: { cookie: second } })).status).toBe(
        200,
      );

      getClock().advance(12 * 3600 * 1000);
      const expired = await server.request('GET', '/api/v1/whoami', { headers: { cookie: second } });
      expect(expired.status).toBe(401);
      expect(expired.body.error.message).toBe(
        'the portal session is not valid any more (expired, ended or unknown); log in again',
      );

      const third = await server.request('POST', '/api/v1/sessions', {
        body: { name: 'alice', password: PASSWORD },
      });
      const thirdCookie = third.headers
        .getSetCookie()
        .map((value) => value.split(';')[0])
        .join('; ');
      await admin('PATCH', '/api/v1/users/alice', { password: 'a brand new passphrase' });
      expect(
        (await server.request('GET', '/api/v1/whoami', { headers: { cookie: thirdCookie } })).status,
      ).toBe(401);
    });
  });

  describe('audit log', () => {
    it('records each state-changing request with who, what, where, when, outcome and the payload hash', async () => {
      getClock().advance(1000);
      const body = { name: 'shop', team: 'web' };
      const created = await admin('POST', '/api/v1/apps', body, { 'x-request-id': 'req-1' });
      expect(created.status).toBe(201);
      await admin('GET', '/api/v1/apps/shop');
      const [entry, ...rest] = (await server.store.audit.list()).items;
      expect(rest).toEqual([]);
      expect(entry).toEqual({
        seq: 1,
        at: '2026-01-01T00:00:01.000Z',
        actorId: root.id,
        actorName: 'root',
        actorKind: 'user',
        tokenId: root.tokenId,
        action: 'POST /api/v1/apps',
        permission: 'apps.create',
        object: '/api/v1/apps',
        outcome: 'succeeded',
        status: 201,
        payloadSha256: jsonPayloadDigest(body),
        requestId: 'req-1',
        prevHash: '0'.repeat(64),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    });

    it('lists entries by time, actor and app, and gives an owner only its app', async () => {
      await admin('POST', '/api/v1/users', { name: 'olivia' });
      await admin('POST', '/api/v1/apps', { name: 'shop' });
      await admin('POST', '/api/v1/apps', { name: 'blog' });
      await admin('POST', '/api/v1/apps/shop/role-bindings', { role: 'owner', subject: 'user:olivia' });
      getClock().advance(3600 * 1000);
      const owner = as(await tokenFor('olivia'));
      await owner('PATCH', '/api/v1/apps/shop/values', { set: [{ key: 'A', value: '1' }] });
      await owner('PATCH', '/api/v1/apps/blog/values', { set: [{ key: 'A', value: '1' }] });

      const recent = await admin('GET', '/api/v1/audit?since=30m');
      expect(
        recent.body.items.map((entry: { action: string; app?: string }) => [entry.action, entry.app]),
      ).toEqual([
        ['PATCH /api/v1/apps/{app}/values', 'blog'],
        ['PATCH /api/v1/apps/{app}/values', 'shop'],
        ['POST /api/v1/users/{name}/tokens', undefined],
      ]);
      const byOlivia = await admin('GET', '/api/v1/audit?actor=olivia&order=asc');
      expect(byOlivia.body.items.map((entry: { status: number }) => entry.status)).toEqual([200, 404]);
      const shop = await owner('GET', '/api/v1/apps/shop/audit');
      expect(shop.status).toBe(200);
      expect(new Set(shop.body.items.map((entry: { app: string }) => entry.app))).toEqual(new Set(['shop']));
      expect((await owner('GET', '/api/v1/apps/blog/audit')).status).toBe(404);
      expect((await owner('GET', '/api/v1/audit')).status).toBe(403);
      expect((await admin('GET', '/api/v1/audit?since=yesterday')).status).toBe(400);
    });
  });
});
