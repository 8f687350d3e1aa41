import { describeEachDatabase } from '@paved/store/testing/test-databases';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretBox } from './secrets/secret-box.js';
import { createTestServer, type TestServer } from './testing/test-server.js';

/** An object of an answer, as the tests look at it. */
type Wire = Record<string, unknown>;

describeEachDatabase('server API', (getStore, _engine, getClock) => {
  let server: TestServer;
  let token: string;
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    server.request(method, path, { token, body, ...(headers === undefined ? {} : { headers }) });

  beforeEach(async () => {
    server = createTestServer(getStore(), getClock(), { dockerHost: 'unix:///run/paved-test/podman.sock' });
    ({ token } = await server.principal('alice', { administrator: true }));
  });

  describe('apps', () => {
    it('creates, lists, gets and deletes apps', async () => {
      const created = await call('POST', '/api/v1/apps', { name: 'shop', team: 'payments' });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        name: 'shop',
        team: 'payments',
        createdAt: '2026-01-01T00:00:00.000Z',
        createdBy: 'alice',
      });
      await call('POST', '/api/v1/apps', { name: 'blog' });

      const list = await call('GET', '/api/v1/apps');
      expect(list.status).toBe(200);
      expect(list.body.items.map((app: { name: string }) => app.name).sort()).toEqual(['blog', 'shop']);
      expect(list.body.next).toBeNull();

      const page = await call('GET', '/api/v1/apps?limit=1');
      expect(page.body.items).toHaveLength(1);
      expect(page.body.next).toEqual(expect.any(String));
      const rest = await call('GET', `/api/v1/apps?limit=1&after=${encodeURIComponent(page.body.next)}`);
      expect(rest.body.items).toHaveLength(1);
      expect(rest.body.items[0].name).not.toBe(page.body.items[0].name);

      expect((await call('GET', '/api/v1/apps/shop')).body).toEqual(created.body);
      const deleted = await call('DELETE', '/api/v1/apps/blog');
      expect(deleted.status).toBe(204);
      expect(deleted.text).toBe('');
      expect((await call('GET', '/api/v1/apps/blog')).status).toBe(404);
    });

    it('answers 404 and 409 in the error shape', async () => {
      const missing = await call('GET', '/api/v1/apps/nope');
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({
        error: {
          code: 'NOT_FOUND',
          message: 'app "nope" does not exist; create it first (paved apps create nope)',
          details: { app: 'nope' },
        },
      });
      expect((await call('DELETE', '/api/v1/apps/nope')).status).toBe(404);
      await call('POST', '/api/v1/apps', { name: 'shop' });
      const again = await call('POST', '/api/v1/apps', { name: 'shop' });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('CONFLICT');
    });

    it('refuses to delete an app with environments, naming them', async () => {
      await call('POST', '/api/v1/apps', { name: 'shop' });
      await call('POST', '/api/v1/apps/shop/envs', { name: 'dev', type: 'development' });
      await call('POST', '/api/v1/apps/shop/envs', { name: 'pr-1', type: 'preview' });
      const response = await call('DELETE', '/api/v1/apps/shop');
      expect(response.status).toBe(409);
      expect(response.body.error.message).toMatch(
        /app "shop" still has environments (dev, pr-1|pr-1, dev); delete them first/,
      );
      expect(response.body.error.details.environments.sort()).toEqual(['dev', 'pr-1']);
      expect((await call('GET', '/api/v1/apps/shop')).status).toBe(200);
    });
  });

  describe('environment types', () => {
    it('lists the four seeded types in order and gets one', async () => {
      const list = await call('GET', '/api/v1/env-types');
      expect(list.status).toBe(200);
      expect(list.body.items.map((type: { name: string }) => type.name)).toEqual([
        'development',
        'preview',
        'staging',
        'production',
      ]);
      expect(list.body.next).toBeNull();
      const preview = await call('GET', '/api/v1/env-types/preview');
      expect(preview.body).toMatchObject({ name: 'preview', defaultTtl: '72h', requiresDeployer: false });
      expect((await call('GET', '/api/v1/env-types/production')).body.requiresDeployer).toBe(true);
      const missing = await call('GET', '/api/v1/env-types/qa');
      expect(missing.status).toBe(404);
      expect(missing.body.error.message).toBe(
        'environment type "qa" does not exist; the environment types are development, preview, staging, production',
      );
    });
  });

  describe('environments', () => {
    beforeEach(async () => {
      await call('POST', '/api/v1/apps', { name: 'shop' });
    });

    it('creates, lists, gets and deletes environments', async () => {
      const created = await call('POST', '/api/v1/apps/shop/envs', { name: 'dev', type: 'development' });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        app: 'shop',
        name: 'dev',
        type: 'development',
        target: 'process',
        createdAt: '2026-01-01T00:00:00.000Z',
        createdBy: 'alice',
      });
      const list = await call('GET', '/api/v1/apps/shop/envs');
      expect(list.body).toEqual({ items: [created.body], next: null });
      expect((await call('GET', '/api/v1/apps/shop/envs/dev')).body).toEqual(created.body);

      await call('PATCH', '/api/v1/apps/shop/envs/dev/values', { set: [{ key: 'A', value: '1' }] });
      expect((await call('DELETE', '/api/v1/apps/shop/envs/dev?deleteData=true')).status).toBe(200);
      expect((await call('GET', '/api/v1/apps/shop/envs/dev')).status).toBe(404);
      expect(await server.store.values.list({ app: 'shop', env: 'dev' })).toEqual([]);
      expect((await call('DELETE', '/api/v1/apps/shop/envs/dev')).status).toBe(404);
      expect((await call('DELETE', '/api/v1/apps/shop')).status).toBe(204);
    });

    it('sets expiresAt from the type default TTL or the given ttl, by the injected clock', async () => {
      const preview = await call('POST', '/api/v1/apps/shop/envs', { name: 'pr-1', type: 'preview' });
      expect(preview.body.expiresAt).toBe('2026-01-04T00:00:00.000Z');
      const short = await call('POST', '/api/v1/apps/shop/envs', {
        name: 'pr-2',
        type: 'preview',
        ttl: '90m',
      });
      expect(short.body.expiresAt).toBe('2026-01-01T01:30:00.000Z');
      const staging = await call('POST', '/api/v1/apps/shop/envs', { name: 'stage', type: 'staging' });
      expect(staging.body.expiresAt).toBeUndefined();
    });

    it('accepts configured targets only', async () => {
      const docker = await call('POST', '/api/v1/apps/shop/envs', {
        name: 'dev',
        type: 'development',
        target: 'docker',
      });
      expect(docker.body.target).toBe('docker');
      const k8s = await call('POST', '/api/v1/apps/shop/envs', {
        name: 'qa',
        type: 'development',
        target: 'k8s',
      });
      expect(k8s.status).toBe(400);
      expect(k8s.body.error.details.problems).toEqual([
        {
          path: 'target',
          message:
            'target "k8s" does not exist; the targets are docker, process (paved targets list; a Target is added with paved apply)',
        },
      ]);
    });

    it('names the valid types for an unknown one, and the missing app or source', async () => {
      const type = await call('POST', '/api/v1/apps/shop/envs', { name: 'dev', type: 'qa' });
      expect(type.status).toBe(404);
      expect(type.body.error.details.envTypes).toEqual(['development', 'preview', 'staging', 'production']);
      expect(
        (await call('POST', '/api/v1/apps/nope/envs', { name: 'dev', type: 'development' })).status,
      ).toBe(404);
      const from = await call('POST', '/api/v1/apps/shop/envs', {
        name: 'dev',
        type: 'development',
        from: 'prod',
      });
      expect(from.status).toBe(404);
      expect(from.body.error.message).toMatch(/environment "prod" of app "shop" does not exist/);
      expect((await server.store.environments.list('shop')).items).toEqual([]);
    });

    it('refuses a second environment of the same name', async () => {
      await call('POST', '/api/v1/apps/shop/envs', { name: 'dev', type: 'development' });
      const again = await call('POST', '/api/v1/apps/shop/envs', { name: 'dev', type: 'staging' });
      expect(again.status).toBe(409);
      expect((await call('GET', '/api/v1/apps/shop/envs/dev')).body.type).toBe('development');
    });

    it('clones the values of another environment as its first version', async () => {
      await call('POST', '/api/v1/apps/shop/envs', { name: 'staging', type: 'staging' });
      await call('PATCH', '/api/v1/apps/shop/envs/staging/values', {
        set: [
          { key: 'LOG_LEVEL', value: 'debug' },
          { key: 'API_KEY', value: 's3cr3t-clone', secret: true },
        ],
      });
      const clone = await call('POST', '/api/v1/apps/shop/envs', {
        name: 'pr-7',
        type: 'preview',
        from: 'staging',
      });
      expect(clone.status).toBe(201);
      expect(clone.body.clonedFrom).toBe('staging');
      const values = await call('GET', '/api/v1/apps/shop/envs/pr-7/values');
      expect(values.body.version).toBe(1);
      expect(values.body.items.map((item: Wire) => [item.key, item.value, item.secret]).sort()).toEqual([
        ['API_KEY', undefined, true],
        ['LOG_LEVEL', 'debug', false],
      ]);
      const stored = await server.store.values.list({ app: 'shop', env: 'pr-7' });
      const secret = stored.find((entry) => entry.key === 'API_KEY')!;
      expect(server.context.secrets.open(secret.value)).toBe('s3cr3t-clone');
    });
  });

  describe('values', () => {
    beforeEach(async () => {
      await call('POST', '/api/v1/apps', { name: 'shop' });
      await call('POST', '/api/v1/apps/shop/envs', { name: 'dev', type: 'development' });
    });

    it('sets, lists, unsets and keeps history, per app and per environment', async () => {
      for (const base of ['/api/v1/apps/shop/values', '/api/v1/apps/shop/envs/dev/values']) {
        const first = await call('PATCH', base, {
          set: [
            { key: 'LOG_LEVEL', value: 'info' },
            { key: 'FEATURE_X', value: 'on' },
          ],
        });
        expect(first.status).toBe(200);
        expect(first.body.version).toBe(1);
        expect(first.body.items).toContainEqual({
          key: 'LOG_LEVEL',
          value: 'info',
          secret: false,
          version: 1,
          updatedAt: getClock().now().toISOString(),
          updatedBy: 'alice',
        });
        getClock().advance(1000);
        const second = await call('PATCH', base, {
          set: [{ key: 'LOG_LEVEL', value: 'debug' }],
          unset: ['FEATURE_X'],
        });
        expect(second.body.version).toBe(2);
        expect(second.body.items.map((item: Wire) => [item.key, item.value, item.version])).toEqual([
          ['LOG_LEVEL', 'debug', 2],
        ]);

        const list = await call('GET', base);
        expect(list.body).toEqual({ items: second.body.items, next: null, version: 2 });

        const history = await call('GET', `${base}/history`);
        expect(history.status).toBe(200);
        expect(history.body.next).toBeNull();
        expect(history.body.items[0].version).toBe(2);
        expect(
          history.body.items.map((item: Wire) => [item.version, item.key, item.action, item.value]).sort(),
        ).toEqual([
          [1, 'FEATURE_X', 'set', 'on'],
          [1, 'LOG_LEVEL', 'set', 'info'],
          [2, 'FEATURE_X', 'unset', undefined],
          [2, 'LOG_LEVEL', 'set', 'debug'],
        ]);
      }
      // The two scopes are separate.
      expect((await server.store.values.list({ app: 'shop' })).map((entry) => entry.key)).toEqual([
        'LOG_LEVEL',
      ]);
    });

    it('answers 404 for values of a missing app or environment', async () => {
      expect((await call('GET', '/api/v1/apps/nope/values')).status).toBe(404);
      expect((await call('GET', '/api/v1/apps/shop/envs/nope/values')).status).toBe(404);
      expect((await call('PATCH', '/api/v1/apps/shop/envs/nope/values', { unset: ['A'] })).status).toBe(404);
    });

    it('refuses to unset a key that is not set, writing nothing', async () => {
      await call('PATCH', '/api/v1/apps/shop/values', { set: [{ key: 'A', value: '1' }] });
      const response = await call('PATCH', '/api/v1/apps/shop/values', {
        set: [{ key: 'B', value: '2' }],
        unset: ['MISSING'],
      });
      expect(response.status).toBe(400);
      expect(response.body.error.message).toContain('MISSING');
      expect(await server.store.values.currentVersion({ app: 'shop' })).toBe(1);
    });

    it('keeps a key secret when it is set again without saying', async () => {
      await call('PATCH', '/api/v1/apps/shop/values', {
        set: [{ key: 'TOKEN', value: 'first-secret', secret: true }],
      });
      const again = await call('PATCH', '/api/v1/apps/shop/values', {
        set: [{ key: 'TOKEN', value: 'second-secret' }],
      });
      expect(again.body.items).toEqual([expect.objectContaining({ key: 'TOKEN', secret: true })]);
      expect(again.text).not.toContain('second-secret');
      const plain = await call('PATCH', '/api/v1/apps/shop/values', {
        set: [{ key: 'TOKEN', value: 'now-public', secret: false }],
      });
      expect(plain.body.items).toEqual([
        expect.objectContaining({ key: 'TOKEN', value: 'now-public', secret: false }),
      ]);
    });

    it('never returns, logs or stores in the clear a secret value', async () => {
      const secret = `planted-${Math.random().toString(36).slice(2)}-secret`;
      const set = await call('PATCH', '/api/v1/apps/shop/envs/dev/values', {
        set: [
          { key: 'DATABASE_PASSWORD', value: secret, secret: true },
          { key: 'PLAIN', value: 'visible' },
        ],
      });
      expect(set.status).toBe(200);
      expect(set.body.items).toContainEqual(
        expect.objectContaining({ key: 'DATABASE_PASSWORD', secret: true }),
      );
      expect(set.body.items.find((item: Wire) => item.key === 'DATABASE_PASSWORD')).not.toHaveProperty(
        'value',
      );

      // Everything a client could look at afterwards, including failures mentioning the key.
      await call('GET', '/api/v1/apps/shop/envs/dev/values');
      await call('GET', '/api/v1/apps/shop/envs/dev/values/history');
      await call('PATCH', '/api/v1/apps/shop/envs/dev/values', {
        set: [{ key: 'DATABASE_PASSWORD', value: secret, secret: true, bad: 1 }],
      });
      await call('PATCH', '/api/v1/apps/shop/envs/dev/values', {
        set: [
          { key: 'DATABASE_PASSWORD', value: secret },
          { key: 'DATABASE_PASSWORD', value: secret },
        ],
      });
      await server.request('PATCH', '/api/v1/apps/shop/envs/dev/values', {
        token,
        rawBody: `{"set":[{"key":"DATABASE_PASSWORD","value":${secret}}]}`,
      });
      await call('POST', '/api/v1/apps/shop/envs', { name: 'pr-1', type: 'preview', from: 'dev' });
      await call('GET', '/api/v1/apps/shop/envs/pr-1/values');
      await call('GET', '/api/v1/apps/shop/envs/pr-1/values/history');
      await call('GET', '/api/openapi.json');
      await call('GET', '/metrics');

      for (const body of server.responses) expect(body).not.toContain(secret);
      expect(server.log.lines.length).toBeGreaterThan(5);
      expect(server.log.text).not.toContain(secret);
      const stored = await server.store.values.list({ app: 'shop', env: 'dev' });
      const sealed = stored.find((entry) => entry.key === 'DATABASE_PASSWORD')!.value;
      expect(sealed).not.toContain(secret);
      expect(SecretBox.isSealed(sealed)).toBe(true);
      expect(server.context.secrets.open(sealed)).toBe(secret);
      const history = await server.store.values.history({ app: 'shop', env: 'dev' });
      for (const change of history.items) expect(change.value ?? '').not.toContain(secret);
    });
  });

  describe('validation', () => {
    it('lists every problem of a request, with JSON paths, and stores nothing', async () => {
      await call('POST', '/api/v1/apps', { name: 'shop' });
      const response = await call('PATCH', '/api/v1/apps/shop/values', {
        set: [
          { key: 'OK', value: 'fine' },
          { key: '9LIVES', value: 'x' },
          { key: 'NUM', value: 3 },
          { key: 'OK', value: 'twice' },
        ],
        unset: ['OK'],
        extra: true,
      });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('INVALID_INPUT');
      expect(response.body.error.message).toMatch(
        /^invalid request to PATCH \/api\/v1\/apps\/\{app\}\/values: set\[1\]\.key: /,
      );
      const problems = response.body.error.details.problems;
      expect(problems.map((problem: { path: string }) => problem.path)).toEqual([
        'set[1].key',
        'set[2].value',
        '',
      ]);
      expect(problems[0].message).toMatch(/environment-variable name/);
      expect(problems[2].message).toMatch(/Unrecognized key: "extra"/);
      expect(await server.store.values.currentVersion({ app: 'shop' })).toBe(0);

      // Once the shape is right, the cross-field rules report together.
      const duplicates = await call('PATCH', '/api/v1/apps/shop/values', {
        set: [
          { key: 'OK', value: 'fine' },
          { key: 'OK', value: 'twice' },
        ],
        unset: ['OK'],
      });
      expect(duplicates.body.error.details.problems).toEqual([
        { path: 'set[1].key', message: 'OK is set twice (also set[0])' },
        { path: 'unset[0]', message: 'OK is both set and unset' },
      ]);
      expect((await call('PATCH', '/api/v1/apps/shop/values', {})).body.error.details.problems).toEqual([
        { path: '', message: 'nothing to change: give "set", "unset" or both' },
      ]);
      expect(await server.store.values.currentVersion({ app: 'shop' })).toBe(0);
    });

    it('validates path parameters and queries', async () => {
      const name = await call('GET', '/api/v1/apps/Not_A_Label');
      expect(name.status).toBe(400);
      expect(name.body.error.details.problems).toEqual([
        {
          path: 'params.app',
          message:
            'an app name must be a DNS label: 1 to 63 lower-case letters, digits and hyphens, starting and ending with a letter or digit',
        },
      ]);
      const limit = await call('GET', '/api/v1/apps?limit=5000');
      expect(limit.body.error.details.problems).toEqual([
        { path: 'query.limit', message: 'limit must be a whole number from 1 to 500' },
      ]);
      const ttl = await call('POST', '/api/v1/apps/shop/envs', { name: 'x', type: 'preview', ttl: '3 days' });
      expect(ttl.body.error.details.problems).toEqual([
        { path: 'ttl', message: 'a duration is a positive whole number and one of s, m, h, d, e.g. 72h' },
      ]);
    });

    it('reports malformed JSON without echoing it', async () => {
      await call('POST', '/api/v1/apps', { name: 'shop' });
      const response = await server.request('POST', '/api/v1/apps', {
        token,
        rawBody: '{"name": hunter2}',
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('INVALID_INPUT');
      expect(response.body.error.message).toMatch(/^the request body is not valid JSON/);
      expect(response.text).not.toContain('hunter2');
      const wrongType = await server.request('POST', '/api/v1/apps', {
        token,
        rawBody: 'name=shop',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(wrongType.status).toBe(400);
      expect(wrongType.body.error.message).toMatch(/must be JSON, not application\/x-www-form-urlencoded/);
      const empty = await server.request('POST', '/api/v1/apps', { token, rawBody: '' });
      expect(empty.status).toBe(400);
    });

    it('refuses bodies over 1 MiB with 413', async () => {
      await call('POST', '/api/v1/apps', { name: 'shop' });
      const big = { set: [{ key: 'BIG', value: 'x'.repeat(1024 * 1024) }] };
      const response = await call('PATCH', '/api/v1/apps/shop/values', big);
      expect(response.status).toBe(413);
      expect(response.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      // Without a Content-Length, the limit applies while reading.
      const encoded = new TextEncoder().encode(JSON.stringify(big));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let offset = 0; offset < encoded.length; offset += 64 * 1024)
            controller.enqueue(encoded.slice(offset, offset + 64 * 1024));
          controller.close();
        },
      });
      const chunked = await server.app.request('/api/v1/apps/shop/values', {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      });
      expect(chunked.status).toBe(413);
      expect(await server.store.values.currentVersion({ app: 'shop' })).toBe(0);
    });
  });

  describe('errors, request ids and logs', () => {
    it('answers unknown routes with 404 in the error shape', async () => {
      for (const [method, path] of [
        ['GET', '/api/v1/nothing'],
        ['PUT', '/api/v1/apps'],
        ['GET', '/'],
      ] as const) {
        const response = await server.request(method, path);
        expect(response.status).toBe(404);
        expect(response.body.error.code).toBe('NOT_FOUND');
        expect(response.body.error.message).toContain(`no route ${method} ${path}`);
      }
    });

    it('answers an unexpected failure with 500 naming the request id, logged with its stack', async () => {
      const failing = createTestServer(
        {
          ...getStore(),
          apps: { ...getStore().apps, list: () => Promise.reject(new Error('database on fire')) },
        },
        getClock(),
      );
      const { token: failingToken } = await failing.principal('bob', { administrator: true });
      const response = await failing.request('GET', '/api/v1/apps', {
        token: failingToken,
        headers: { 'x-request-id': 'req-42' },
      });
      expect(response.status).toBe(500);
      expect(response.body.error).toEqual({
        code: 'INTERNAL',
        message:
          'the server failed to answer this request (request id req-42); the server log has the details under that id',
        details: { requestId: 'req-42' },
      });
      expect(response.text).not.toContain('database on fire');
      const logged = failing.log.entries().find((entry) => entry.msg === 'unexpected error');
      expect(logged).toMatchObject({ requestId: 'req-42', err: { message: 'database on fire' } });
      expect(String((logged?.err as { stack?: string }).stack)).toContain('Error: database on fire');
    });

    it('echoes or creates X-Request-Id and logs each request with it', async () => {
      const echoed = await server.request('GET', '/api/v1/health', {
        headers: { 'X-Request-Id': 'abc-123' },
      });
      expect(echoed.headers.get('x-request-id')).toBe('abc-123');
      const created = await server.request('GET', '/api/v1/nothing');
      expect(created.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const unsafe = await server.request('GET', '/api/v1/health', {
        headers: { 'X-Request-Id': 'evil\tid' },
      });
      expect(unsafe.headers.get('x-request-id')).not.toBe('evil\tid');
      const failed = await call('GET', '/api/v1/apps/nope', undefined, { 'X-Request-Id': 'req-404' });
      expect(failed.headers.get('x-request-id')).toBe('req-404');

      const lines = server.log.entries().filter((entry) => entry.msg === 'request');
      expect(lines).toContainEqual(
        expect.objectContaining({
          requestId: 'abc-123',
          method: 'GET',
          path: '/api/v1/health',
          status: 200,
          level: 30,
        }),
      );
      expect(lines).toContainEqual(
        expect.objectContaining({
          requestId: 'req-404',
          path: '/api/v1/apps/nope',
          route: '/api/v1/apps/{app}',
          status: 404,
        }),
      );
      for (const line of lines) expect(line.durationMs).toEqual(expect.any(Number));
      expect(server.log.text).not.toContain(token);
    });

    it('serves the OpenAPI document of every route', async () => {
      const response = await server.request('GET', '/api/openapi.json');
      expect(response.body.openapi).toBe('3.1.0');
      for (const route of server.registry.routes) {
        expect(response.body.paths[route.path][route.method.toLowerCase()]).toBeDefined();
      }
    });
  });
});
