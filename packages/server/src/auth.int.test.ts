import { describeEachDatabase } from '@paved/store/testing/test-databases';
import { beforeEach, expect, it } from 'vitest';
import { createTestServer, type TestServer } from './testing/test-server.js';
import type { AnyRoute } from './routes/route.js';

/** A concrete URL for a route pattern. */
function samplePath(route: AnyRoute): string {
  return route.path
    .replace('{app}', 'shop')
    .replace('{env}', 'dev')
    .replace('{type}', 'development')
    .replace('{hash}', `sha256:${'0'.repeat(64)}`)
    .replace('{n}', '1')
    .replace('{workload}', 'web')
    .replace('{team}', 'web')
    .replace('{name}', 'alice')
    .replace('{id}', 'token-1')
    .replace('{resource}', 'db');
}

/** A body the route accepts, so that nothing but the caller decides the answer. */
function sampleBody(route: AnyRoute): unknown {
  if (route.body === undefined) return undefined;
  if (route.path === '/api/v1/apps') return { name: 'blog' };
  if (route.path.endsWith('/envs')) return { name: 'qa', type: 'development' };
  if (route.path.endsWith('/values')) return { set: [{ key: 'A', value: '1' }] };
  if (route.path.endsWith('/deployments')) {
    return { workloads: [{ file: 'score.yaml', score: 'apiVersion: score.dev/v1b1\n' }], plan: true };
  }
  if (route.path.endsWith('/rollback')) return { deployment: 1 };
  if (route.path.endsWith('/promote')) return { from: 'staging', plan: true };
  if (route.path === '/api/v1/apply') {
    return {
      documents: [
        {
          file: 'pg.yaml',
          apiVersion: 'paved.dev/v1',
          kind: 'ResourceDefinition',
          metadata: { name: 'pg' },
          spec: { type: 'postgres', driver: 'echo' },
        },
      ],
    };
  }
  if (route.path === '/api/v1/users') return { name: 'carol', password: 'correct horse battery' };
  if (route.path === '/api/v1/users/{name}') return { disabled: true };
  if (route.path.endsWith('/tokens')) return { name: 'ci' };
  if (route.path === '/api/v1/teams') return { name: 'web' };
  if (route.path.endsWith('/service-accounts')) return { name: 'ci-bot' };
  if (route.path.endsWith('/role-bindings')) return { role: 'viewer', subject: 'user:root' };
  if (route.path === '/api/v1/whoami/password') {
    return { currentPassword: 'x', newPassword: 'correct horse battery' };
  }
  if (route.path === '/api/v1/login' || route.path === '/api/v1/sessions') {
    return { name: 'root', password: 'wrong' };
  }
  throw new Error(`no sample body for ${route.method} ${route.path}; add one`);
}

describeEachDatabase('server authentication and authorisation', (getStore, _engine, getClock) => {
  let server: TestServer;
  let admin: { id: string; token: string; tokenId: string };

  beforeEach(async () => {
    server = createTestServer(getStore(), getClock());
    admin = await server.principal('root', { administrator: true });
    // Something for every route to be about: app shop with environment dev.
    expect(
      (await server.request('POST', '/api/v1/apps', { token: admin.token, body: { name: 'shop' } })).status,
    ).toBe(201);
    const env = await server.request('POST', '/api/v1/apps/shop/envs', {
      token: admin.token,
      body: { name: 'dev', type: 'development' },
    });
    expect(env.status).toBe(201);
  });

  const nonPublic = () => server.registry.routes.filter((route) => route.permission !== 'public');

  it('answers 401 without a token on every route that is not public', async () => {
    expect(nonPublic().length).toBeGreaterThanOrEqual(18);
    for (const route of nonPublic()) {
      const response = await server.request(route.method, samplePath(route), { body: sampleBody(route) });
      expect(response.status, `${route.method} ${route.path}`).toBe(401);
      expect(response.body.error.code).toBe('UNAUTHENTICATED');
      expect(response.body.error.message).toContain('Authorization: Bearer <token>');
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="paved"');
    }
    // Nothing was written by any of them.
    expect((await server.store.apps.list()).items.map((app) => app.name)).toEqual(['shop']);
  });

  it('answers 401 to unknown and malformed tokens on every route that is not public', async () => {
    for (const authorization of [
      'Bearer paved_not-a-real-token',
      'Basic dXNlcjpwYXNz',
      'Bearer',
      `Bearer ${admin.token}x`,
    ]) {
      for (const route of nonPublic()) {
        const response = await server.request(route.method, samplePath(route), {
          headers: { authorization },
          body: sampleBody(route),
        });
        expect(response.status, `${authorization} ${route.method} ${route.path}`).toBe(401);
      }
    }
  });

  it('answers the public routes without a token', async () => {
    const publicRoutes = server.registry.routes.filter((route) => route.permission === 'public');
    // The contract's public routes: health, the OpenAPI document, and logging in.
    expect(publicRoutes.map((route) => `${route.method} ${route.path}`)).toEqual([
      'GET /api/v1/health',
      'GET /api/openapi.json',
      'POST /api/v1/login',
      'POST /api/v1/sessions',
    ]);
    for (const route of publicRoutes.filter((route) => route.method === 'GET')) {
      expect((await server.request(route.method, samplePath(route))).status).toBe(200);
    }
    // Logging in answers without a token, and a wrong password is 401 like a bad token.
    for (const route of publicRoutes.filter((route) => route.method === 'POST')) {
      const login = await server.request(route.method, samplePath(route), { body: sampleBody(route) });
      expect(login.status, route.path).toBe(401);
      expect(login.body.error.message).toContain('user name or password is wrong');
    }
    const health = await server.request('GET', '/api/v1/health');
    expect(health.body).toEqual({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it('refuses a revoked token from the next request on', async () => {
    const alice = await server.principal('alice', { administrator: true });
    expect((await server.request('GET', '/api/v1/apps', { token: alice.token })).status).toBe(200);
    await server.store.tokens.revoke(alice.tokenId, getClock().now());
    const response = await server.request('GET', '/api/v1/apps', { token: alice.token });
    expect(response.status).toBe(401);
    expect(response.body.error.message).toMatch(/was revoked at/);
  });

  it('refuses an expired token', async () => {
    const principal = await server.store.principals.create({
      id: 'p-exp',
      kind: 'service-account',
      name: 'ci',
    });
    await server.store.grants.grant({ subject: principal.id, role: 'administrator', scope: { kind: 'org' } });
    const { generateToken, hashToken } = await import('./auth/tokens.js');
    const token = generateToken();
    await server.store.tokens.create({
      id: 't-exp',
      principalId: principal.id,
      name: 'ci',
      hash: hashToken(token),
      expiresAt: new Date(getClock().now().getTime() + 60_000).toISOString(),
    });
    expect((await server.request('GET', '/api/v1/whoami', { token })).status).toBe(200);
    getClock().advance(60_000);
    const response = await server.request('GET', '/api/v1/whoami', { token });
    expect(response.status).toBe(401);
    expect(response.body.error.message).toMatch(/expired at/);
  });

  it('records when a token was last used, to the minute', async () => {
    getClock().advance(5000);
    await server.request('GET', '/api/v1/whoami', { token: admin.token });
    const [token] = await server.store.tokens.listFor(admin.id);
    // Used in beforeEach; within the minute, the record is not rewritten on every request.
    expect(token?.lastUsedAt).toBe('2026-01-01T00:00:00.000Z');
    getClock().advance(60_000);
    await server.request('GET', '/api/v1/whoami', { token: admin.token });
    const [later] = await server.store.tokens.listFor(admin.id);
    expect(later?.lastUsedAt).toBe(getClock().now().toISOString());
  });

  it('answers 403 to everything a principal without grants tries, and changes nothing', async () => {
    const nobody = await server.principal('nobody');
    for (const route of nonPublic()) {
      const response = await server.request(route.method, samplePath(route), {
        token: nobody.token,
        body: sampleBody(route),
      });
      expect(response.status, `${route.method} ${route.path}`).toBe(403);
      expect(response.body.error).toMatchObject({
        code: 'FORBIDDEN',
        details: { permission: route.permission },
      });
      expect(response.body.error.message).toContain(`grants ${route.permission}`);
    }
    // Even an invalid request is refused for lack of permission rather than described.
    const invalid = await server.request('POST', '/api/v1/apps', {
      token: nobody.token,
      body: { name: 'NOT VALID' },
    });
    expect(invalid.status).toBe(403);
    expect((await server.store.apps.list()).items.map((app) => app.name)).toEqual(['shop']);
    expect(await server.store.environments.get('shop', 'qa')).toBeUndefined();
    expect(await server.store.values.list({ app: 'shop' })).toEqual([]);
    expect(await server.store.definitions.list()).toEqual([]);
  });

  it('keeps a token restricted to one app inside it', async () => {
    const scoped = await server.principal('deploy-bot', { administrator: true, app: 'shop' });
    expect((await server.request('GET', '/api/v1/apps/shop', { token: scoped.token })).status).toBe(200);
    await server.request('POST', '/api/v1/apps', { token: admin.token, body: { name: 'blog' } });
    const elsewhere = await server.request('GET', '/api/v1/apps/blog', { token: scoped.token });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.error.message).toContain('restricted to app "shop"');
    expect(
      (await server.request('POST', '/api/v1/apps', { token: scoped.token, body: { name: 'x' } })).status,
    ).toBe(403);
  });

  it('tells the caller who they are', async () => {
    const response = await server.request('GET', '/api/v1/whoami', { token: admin.token });
    expect(response.body).toEqual({
      id: admin.id,
      name: 'root',
      kind: 'user',
      roles: [{ role: 'administrator', scope: { kind: 'org' } }],
    });
  });

  it('serves metrics to a token with metrics.read, and to anyone with metricsPublic', async () => {
    expect((await server.request('GET', '/metrics')).status).toBe(401);
    const metrics = await server.request('GET', '/metrics', { token: admin.token });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(metrics.text).toMatch(
      /paved_http_requests_total\{method="POST",route="\/api\/v1\/apps",status="201"\} 1/,
    );
    expect(metrics.text).toContain('paved_http_request_duration_seconds_bucket');
    expect(metrics.text).toContain('process_cpu_user_seconds_total');

    const open = createTestServer(getStore(), getClock(), { metricsPublic: true });
    expect((await open.request('GET', '/metrics')).status).toBe(200);
    expect(open.registry.routes.find((route) => route.path === '/metrics')?.permission).toBe('public');
  });
});
