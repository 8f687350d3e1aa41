/**
 * The attacks of issue 10, each refused with the right status and recorded in the audit log:
 * forged, expired and revoked tokens; a developer granting itself owner; a viewer reading a
 * secret; a developer deploying to production without the deployer role; guessing another
 * team's app names; oversized and deeply nested payloads; guessing a password.
 */
import type { AuditEntry } from '@paved/store';
import { describeEachDatabase } from '@paved/store/testing/test-databases';
import { beforeEach, expect, it } from 'vitest';
import { hashPassword } from './passwords.js';
import { generateToken, hashToken } from './tokens.js';
import { createTestServer, type TestServer } from '../testing/test-server.js';

const SECRET = 'sk_live_do-not-leak-4242';
const PASSWORD = 'correct horse battery staple';

describeEachDatabase('attacks on access control', (getStore, _engine, getClock) => {
  let server: TestServer;
  let admin: { id: string; token: string; tokenId: string };

  /** A member (of `teams`) with `roles` on app shop and a token. */
  async function member(
    name: string,
    roles: {
      role: string;
      scope: { kind: 'org' } | { kind: 'app'; app: string } | { kind: 'env-type'; envType: string };
    }[] = [],
    teams: string[] = [],
  ) {
    const created = await server.principal(name);
    await server.store.grants.grant({ subject: created.id, role: 'member', scope: { kind: 'org' } });
    for (const grant of roles) await server.store.grants.grant({ subject: created.id, ...grant });
    for (const team of teams) await server.store.teams.addMember(team, created.id);
    return created;
  }

  async function lastEntry(): Promise<AuditEntry> {
    const [entry] = (await server.store.audit.list({}, { limit: 1 })).items;
    expect(entry).toBeDefined();
    return entry!;
  }

  beforeEach(async () => {
    server = createTestServer(getStore(), getClock());
    admin = await server.principal('root', { administrator: true });
    await server.store.teams.create({ name: 'payments', createdBy: 'root' });
    await server.store.teams.create({ name: 'content', createdBy: 'root' });
    const call = (method: string, path: string, body: unknown) =>
      server.request(method, path, { token: admin.token, body });
    expect((await call('POST', '/api/v1/apps', { name: 'shop', team: 'payments' })).status).toBe(201);
    expect((await call('POST', '/api/v1/apps', { name: 'blog', team: 'content' })).status).toBe(201);
    expect((await call('POST', '/api/v1/apps/shop/envs', { name: 'prod', type: 'production' })).status).toBe(
      201,
    );
    expect(
      (
        await call('PATCH', '/api/v1/apps/shop/values', {
          set: [{ key: 'STRIPE_KEY', value: SECRET, secret: true }],
        })
      ).status,
    ).toBe(200);
  });

  it('refuses forged, expired and revoked tokens with 401, and records who the real ones were', async () => {
    const forged = await server.request('POST', '/api/v1/apps', {
      token: generateToken(),
      body: { name: 'forged' },
    });
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('UNAUTHENTICATED');
    expect(await lastEntry()).toMatchObject({
      actorKind: 'anonymous',
      action: 'POST /api/v1/apps',
      outcome: 'denied',
      status: 401,
      payloadSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    const alice = await member('alice', [{ role: 'developer', scope: { kind: 'app', app: 'shop' } }]);
    await server.store.tokens.revoke(alice.tokenId, getClock().now());
    const revoked = await server.request('PATCH', '/api/v1/apps/shop/values', {
      token: alice.token,
      body: { set: [{ key: 'A', value: '1' }] },
    });
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toMatch(/was revoked at/);
    expect(await lastEntry()).toMatchObject({
      actorId: alice.id,
      actorName: 'alice',
      tokenId: alice.tokenId,
      app: 'shop',
      outcome: 'denied',
      status: 401,
    });

    const expiring = generateToken();
    const bob = await member('bob', [{ role: 'developer', scope: { kind: 'app', app: 'shop' } }]);
    await server.store.tokens.create({
      id: 'bob-expiring',
      principalId: bob.id,
      name: 'short',
      hash: hashToken(expiring),
      expiresAt: new Date(getClock().now().getTime() + 1000).toISOString(),
    });
    getClock().advance(1000);
    const expired = await server.request('GET', '/api/v1/apps/shop', { token: expiring });
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toMatch(/expired at/);
    // A refused read is recorded too.
    expect(await lastEntry()).toMatchObject({ actorName: 'bob', tokenId: 'bob-expiring', status: 401 });
  });

  it('refuses a developer granting itself owner, or anything on the organisation', async () => {
    const dev = await member('dev', [{ role: 'developer', scope: { kind: 'app', app: 'shop' } }]);
    const onApp = await server.request('POST', '/api/v1/apps/shop/role-bindings', {
      token: dev.token,
      body: { role: 'owner', subject: 'user:dev' },
    });
    expect(onApp.status).toBe(403);
    expect(onApp.body.error.details).toEqual({ permission: 'apps.members' });
    expect(await lastEntry()).toMatchObject({
      actorName: 'dev',
      action: 'POST /api/v1/apps/{app}/role-bindings',
      permission: 'apps.members',
      app: 'shop',
      outcome: 'denied',
      status: 403,
    });
    const onOrg = await server.request('POST', '/api/v1/role-bindings', {
      token: dev.token,
      body: { role: 'administrator', subject: 'user:dev' },
    });
    expect(onOrg.status).toBe(403);
    expect((await server.store.grants.list({ subject: dev.id })).map((grant) => grant.role).sort()).toEqual([
      'developer',
      'member',
    ]);

    // An owner may manage the app's members, but not hand out organisation or deployer roles.
    const owner = await member('owner', [{ role: 'owner', scope: { kind: 'app', app: 'shop' } }]);
    const deployer = await server.request('POST', '/api/v1/apps/shop/role-bindings', {
      token: owner.token,
      body: { role: 'deployer', subject: 'user:owner' },
    });
    expect(deployer.status).toBe(400);
    expect(deployer.body.error.message).toBe(
      'role "deployer" is granted per environment type, not on app "shop"',
    );
    const elsewhere = await server.request('POST', '/api/v1/apps/blog/role-bindings', {
      token: owner.token,
      body: { role: 'owner', subject: 'user:owner' },
    });
    expect(elsewhere.status).toBe(404);
  });

  it('never shows a viewer (or anyone) a secret value', async () => {
    const viewer = await member('viewer', [{ role: 'viewer', scope: { kind: 'app', app: 'shop' } }]);
    for (const path of ['/api/v1/apps/shop/values', '/api/v1/apps/shop/values/history']) {
      const answer = await server.request('GET', path, { token: viewer.token });
      expect(answer.status).toBe(200);
      expect(answer.text).not.toContain(SECRET);
      expect(answer.body.items[0]).toMatchObject({ key: 'STRIPE_KEY', secret: true });
      expect(answer.body.items[0]).not.toHaveProperty('value');
    }
    // Turning the secret into a plain value to read it back is writing, which a viewer may not.
    const unmask = await server.request('PATCH', '/api/v1/apps/shop/values', {
      token: viewer.token,
      body: { set: [{ key: 'STRIPE_KEY', value: 'x', secret: false }] },
    });
    expect(unmask.status).toBe(403);
    expect(await lastEntry()).toMatchObject({ actorName: 'viewer', permission: 'values.write', status: 403 });
    // Not even the administrator reads it back; nothing of it is in any answer or in the log.
    expect(
      (await server.request('GET', '/api/v1/apps/shop/values', { token: admin.token })).text,
    ).not.toContain(SECRET);
    expect(server.responses.join('\n')).not.toContain(SECRET);
    expect(server.log.text).not.toContain(SECRET);
    const entries = await server.store.audit.list({}, { limit: 500 });
    expect(JSON.stringify(entries)).not.toContain(SECRET);
  });

  it('refuses a developer deploying to, or changing, production without the deployer role', async () => {
    const dev = await member('dev', [{ role: 'developer', scope: { kind: 'app', app: 'shop' } }]);
    const deploy = await server.request('POST', '/api/v1/apps/shop/envs/prod/deployments', {
      token: dev.token,
      body: { workloads: [{ file: 'score.yaml', score: 'apiVersion: score.dev/v1b1\n' }] },
    });
    expect(deploy.status).toBe(403);
    expect(deploy.body.error.message).toContain(
      'environment type "production" also needs role "deployer" on it',
    );
    expect(await lastEntry()).toMatchObject({
      actorName: 'dev',
      action: 'POST /api/v1/apps/{app}/envs/{env}/deployments',
      permission: 'deployments.create',
      app: 'shop',
      env: 'prod',
      outcome: 'denied',
    });
    const create = await server.request('POST', '/api/v1/apps/shop/envs', {
      token: dev.token,
      body: { name: 'prod-2', type: 'production' },
    });
    expect(create.status).toBe(403);
    const remove = await server.request('DELETE', '/api/v1/apps/shop/envs/prod', { token: dev.token });
    expect(remove.status).toBe(403);
    expect(await server.store.environments.get('shop', 'prod')).toBeDefined();
  });

  it("answers guesses at another team's apps as if they did not exist", async () => {
    const stranger = await member('stranger', [], ['content']);
    const missing = await server.request('GET', '/api/v1/apps/nothing-here', { token: admin.token });
    expect(missing.status).toBe(404);
    for (const path of ['/api/v1/apps/shop', '/api/v1/apps/shop/envs', '/api/v1/apps/shop/envs/prod']) {
      const hidden = await server.request('GET', path, { token: stranger.token });
      expect(hidden.status, path).toBe(404);
      expect(hidden.body).toEqual({
        error: {
          code: 'NOT_FOUND',
          message: 'app "shop" does not exist; create it first (paved apps create shop)',
          details: { app: 'shop' },
        },
      });
    }
    // The same answer as for an app that really does not exist.
    const guessed = await server.request('GET', '/api/v1/apps/nothing-here', { token: stranger.token });
    expect(guessed.body).toEqual(missing.body);
    // The list does not give it away either, while the stranger's own team's app is there.
    const list = await server.request('GET', '/api/v1/apps', { token: stranger.token });
    expect(list.body.items.map((app: { name: string }) => app.name)).toEqual(['blog']);
    expect(await lastEntry()).toMatchObject({ actorName: 'stranger', object: '/api/v1/apps/nothing-here' });
    const hiddenEntries = await server.store.audit.list({ actor: 'stranger', outcome: 'denied' });
    expect(hiddenEntries.items.map((entry) => [entry.status, entry.object])).toEqual([
      [404, '/api/v1/apps/nothing-here'],
      [404, '/api/v1/apps/shop/envs/prod'],
      [404, '/api/v1/apps/shop/envs'],
      [404, '/api/v1/apps/shop'],
    ]);
  });

  it('refuses oversized payloads with 413 and deeply nested ones with 400, and records both', async () => {
    const big = await server.request('POST', '/api/v1/apps', {
      token: admin.token,
      rawBody: JSON.stringify({ name: 'x', padding: 'y'.repeat(2 * 1024 * 1024) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await lastEntry()).toMatchObject({ actorName: 'root', status: 413, outcome: 'failed' });

    const deep = await server.request('PATCH', '/api/v1/apps/shop/values', {
      token: admin.token,
      rawBody: `{"set":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(deep.status).toBe(400);
    expect(deep.body.error.message).toMatch(/^the request body is nested deeper than 64 levels/);
    expect(await lastEntry()).toMatchObject({
      actorName: 'root',
      status: 400,
      outcome: 'failed',
      app: 'shop',
    });
  });

  it('locks a user name after repeated failed logins, even for the right password, until the lock ends', async () => {
    const user = await server.store.principals.create({
      id: 'p-carol',
      kind: 'user',
      name: 'carol',
      passwordHash: await hashPassword(PASSWORD),
    });
    await server.store.grants.grant({ subject: user.id, role: 'member', scope: { kind: 'org' } });
    const login = (password: string) =>
      server.request('POST', '/api/v1/login', { body: { name: 'carol', password } });
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const wrong = await login(`guess number ${attempt}`);
      expect(wrong.status).toBe(401);
      expect(wrong.body.error.message).toBe(
        'the user name or password is wrong, or the user is disabled; ask an administrator to reset the password',
      );
    }
    const locked = await login(PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('TOO_MANY_REQUESTS');
    expect(locked.body.error.message).toMatch(
      /^too many failed logins for user "carol": logins are refused until/,
    );
    expect(locked.headers.get('retry-after')).toBe('900');
    const attempts = await server.store.audit.list({ actor: 'carol', action: 'POST /api/v1/login' });
    expect(attempts.items.map((entry) => [entry.status, entry.outcome])).toEqual([
      [429, 'denied'],
      ...Array.from({ length: 5 }, () => [401, 'denied']),
    ]);
    // The password never reaches the log: the payload hash is of the body with it replaced.
    expect(JSON.stringify(attempts)).not.toContain('guess number');

    getClock().advance(15 * 60 * 1000);
    const afterwards = await login(PASSWORD);
    expect(afterwards.status).toBe(201);
    expect(afterwards.body.token).toMatch(/^paved_/);
    expect(await lastEntry()).toMatchObject({ actorId: user.id, actorKind: 'user', outcome: 'succeeded' });
  });

  it('answers an unknown user name exactly like a wrong password', async () => {
    const unknown = await server.request('POST', '/api/v1/login', {
      body: { name: 'nobody', password: PASSWORD },
    });
    expect(unknown.status).toBe(401);
    await server.store.principals.create({
      id: 'p-dave',
      kind: 'user',
      name: 'dave',
      passwordHash: await hashPassword(PASSWORD),
    });
    const wrong = await server.request('POST', '/api/v1/login', {
      body: { name: 'dave', password: 'not it at all' },
    });
    expect(wrong.body).toEqual(unknown.body);
  });
});
