import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { PavedError } from '@paved/core';
import { afterEach, describe, expect, it } from 'vitest';
import { PavedClient } from './paved-client.js';
import { startRecordingServer } from './testing/recording-server.js';
import type { Answer, RecordedRequest, RecordingServer } from './testing/recording-server.js';

let server: RecordingServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(answer: (request: RecordedRequest) => Answer): Promise<RecordingServer> {
  server = await startRecordingServer(answer);
  return server;
}

async function rejection(promise: Promise<unknown>): Promise<PavedError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PavedError);
  return error as PavedError;
}

const app = { name: 'shop', createdAt: '2025-01-01T00:00:00Z', createdBy: 'admin' };

describe('PavedClient', () => {
  it('sends the token as a bearer token, JSON bodies, and parses the answer', async () => {
    const { url, requests } = await serve(() => ({ status: 201, body: { ...app, team: 'payments' } }));
    const client = new PavedClient({ url: `${url}/`, token: 'tok' });

    await expect(client.createApp({ name: 'shop', team: 'payments' })).resolves.toMatchObject({
      name: 'shop',
      team: 'payments',
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: 'POST', url: '/api/v1/apps' });
    expect(requests[0]!.headers.authorization).toBe('Bearer tok');
    expect(requests[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(requests[0]!.body)).toEqual({ name: 'shop', team: 'payments' });
  });

  it('lists targets and deletes definitions, forcing only when asked', async () => {
    const { url, requests } = await serve((request) =>
      request.method === 'DELETE'
        ? { body: { name: 'pg', forced: false, resources: [], message: 'deleted resource definition "pg"' } }
        : {
            body: {
              items: [{ name: 'process', type: 'process', builtIn: true, available: true }],
              next: null,
            },
          },
    );
    const client = new PavedClient({ url, token: 't' });
    expect((await client.listTargets()).map((target) => target.name)).toEqual(['process']);
    expect(await client.deleteDefinition('pg')).toMatchObject({ name: 'pg', forced: false });
    await client.deleteDefinition('dev pg', { force: true });
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'GET /api/v1/targets',
      'DELETE /api/v1/resource-definitions/pg',
      'DELETE /api/v1/resource-definitions/dev%20pg?force=true',
    ]);
  });

  it('sends no Authorization header without a token', async () => {
    const { url, requests } = await serve(() => ({ body: { status: 'ok', version: '0.1.0' } }));
    await new PavedClient({ url }).health();
    expect(requests[0]!.headers.authorization).toBeUndefined();
  });

  it('builds the documented paths, encoding names', async () => {
    const { url, requests } = await serve((request) =>
      request.method === 'DELETE'
        ? { status: 204 }
        : request.method === 'PATCH'
          ? { body: { version: 2, items: [] } }
          : { body: { items: [], next: null, version: 1 } },
    );
    const client = new PavedClient({ url, token: 't' });
    await client.listEnvs('shop');
    await client.deleteEnv('shop', 'pr-1', { deleteData: true });
    await client.deleteEnv('shop', 'pr-2');
    await client.deleteApp('a b');
    await client.listValues({ app: 'shop' });
    await client.changeValues({ app: 'shop', env: 'staging' }, { unset: ['A'] });
    await client.valuesHistory({ app: 'shop', env: 'staging' });
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'GET /api/v1/apps/shop/envs',
      'DELETE /api/v1/apps/shop/envs/pr-1?deleteData=true',
      'DELETE /api/v1/apps/shop/envs/pr-2',
      'DELETE /api/v1/apps/a%20b',
      'GET /api/v1/apps/shop/values',
      'PATCH /api/v1/apps/shop/envs/staging/values',
      'GET /api/v1/apps/shop/envs/staging/values/history',
    ]);
  });

  it('follows next cursors to the end of a list', async () => {
    const { url, requests } = await serve((request) => {
      const after = new URL(request.url, 'http://x').searchParams.get('after');
      if (after === null) return { body: { items: [{ ...app, name: 'a' }], next: 'c1' } };
      if (after === 'c1') return { body: { items: [{ ...app, name: 'b' }], next: 'c2' } };
      return { body: { items: [{ ...app, name: 'c' }], next: null } };
    });
    const apps = await new PavedClient({ url }).listApps({ limit: 1 });
    expect(apps.map((item) => item.name)).toEqual(['a', 'b', 'c']);
    expect(requests.map((request) => request.url)).toEqual([
      '/api/v1/apps?limit=1',
      '/api/v1/apps?after=c1&limit=1',
      '/api/v1/apps?after=c2&limit=1',
    ]);
  });

  it('stops with an error when the server repeats a cursor', async () => {
    const { url } = await serve(() => ({ body: { items: [app], next: 'same' } }));
    const error = await rejection(new PavedClient({ url }).listApps());
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toContain('"same" twice');
  });

  it('keeps the version of a values list', async () => {
    const value = { key: 'A', value: '1', secret: false, version: 3, updatedAt: 'now', updatedBy: 'me' };
    const { url } = await serve(() => ({ body: { items: [value], next: null, version: 3 } }));
    await expect(new PavedClient({ url }).listValues({ app: 'shop' })).resolves.toEqual({
      version: 3,
      items: [value],
    });
  });

  it('turns the error shape into a PavedError with its code and details', async () => {
    const problems = [{ path: 'name', message: 'not a DNS label' }];
    const { url } = await serve(() => ({
      status: 400,
      body: { error: { code: 'INVALID_INPUT', message: 'invalid app', details: { problems } } },
    }));
    const error = await rejection(new PavedClient({ url }).createApp({ name: 'Shop' }));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe('invalid app');
    expect(error.details).toEqual({ problems });
  });

  it.each([
    [401, 'UNAUTHENTICATED', 4],
    [403, 'FORBIDDEN', 4],
    [404, 'NOT_FOUND', 3],
    [409, 'CONFLICT', 5],
  ] as const)('maps HTTP %i with the error shape to %s (exit %i)', async (status, code, exit) => {
    const { url } = await serve(() => ({ status, body: { error: { code, message: 'nope' } } }));
    const error = await rejection(new PavedClient({ url }).getApp('shop'));
    expect([error.code, error.exitCode]).toEqual([code, exit]);
  });

  it('maps answers without the error shape by their status, naming the request', async () => {
    const { url } = await serve(() => ({ status: 404, body: 'Not Found' }));
    const error = await rejection(new PavedClient({ url }).getApp('shop'));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain('GET /api/v1/apps/shop with HTTP 404');
  });

  it('adds the request id to internal errors so the server log can be searched', async () => {
    const { url } = await serve(() => ({
      status: 500,
      headers: { 'x-request-id': 'req-1' },
      body: { error: { code: 'INTERNAL', message: 'internal error' } },
    }));
    const error = await rejection(new PavedClient({ url }).whoami());
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toContain('request req-1');
  });

  it('reports a body that is not JSON as an internal error', async () => {
    const { url } = await serve(() => ({ status: 200, body: '<html>' }));
    const error = await rejection(new PavedClient({ url }).whoami());
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toContain('not JSON');
  });

  it('reports an unreachable server as UNAVAILABLE with what to do', async () => {
    // A port that was free a moment ago: nothing listens on it.
    const probe = createServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((done) => probe.close(() => done()));

    const url = `http://127.0.0.1:${port}`;
    const error = await rejection(new PavedClient({ url }).health());
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.exitCode).toBe(6);
    expect(error.message).toBe(
      `cannot reach the Paved server at ${url}: connection refused (ECONNREFUSED); start it with "npx paved server" or set PAVED_URL`,
    );
  });

  it('uses the fetch it is given', async () => {
    const calls: string[] = [];
    const client = new PavedClient({
      url: 'http://paved.test',
      fetch: (input) => {
        calls.push(input instanceof URL ? input.href : typeof input === 'string' ? input : input.url);
        return Promise.resolve(Response.json({ status: 'ok', version: '1' }));
      },
    });
    await expect(client.health()).resolves.toEqual({ status: 'ok', version: '1' });
    expect(calls).toEqual(['http://paved.test/api/v1/health']);
  });

  it('rejects a token that could not be sent as a header', () => {
    expect(() => new PavedClient({ url: 'http://x', token: 'abc\n' })).toThrow(/line break/);
  });

  it('rejects a URL that is not http(s)', () => {
    expect(() => new PavedClient({ url: 'ftp://x' })).toThrow(PavedError);
    expect(() => new PavedClient({ url: 'not a url' })).toThrow(/not a valid server URL/);
  });
});
