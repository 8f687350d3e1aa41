import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeLoginCredential, saveLoginCredential } from './credentials.js';
import { PavedClient } from './paved-client.js';
import { startRecordingServer } from './testing/recording-server.js';
import type { Answer, RecordedRequest, RecordingServer } from './testing/recording-server.js';

let server: RecordingServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function client(
  answer: (request: RecordedRequest) => Answer,
): Promise<{ client: PavedClient; requests: RecordedRequest[] }> {
  server = await startRecordingServer(answer);
  return { client: new PavedClient({ url: server.url, token: 't' }), requests: server.requests };
}

const page = (items: unknown[] = [], next: string | null = null) => ({ body: { items, next } });

describe('PavedClient access control', () => {
  it('sends tokens requests to the caller, a user, or an app service account', async () => {
    const { client: api, requests } = await client((request) =>
      request.method === 'GET'
        ? page()
        : request.method === 'POST'
          ? { status: 201, body: { token: 'x' } }
          : { status: 204 },
    );
    await api.listTokens();
    await api.listTokens({ user: 'alice' });
    await api.createToken({ app: 'shop', serviceAccount: 'shop-ci' }, { name: 'ci', expires: '30d' });
    await api.revokeToken({ own: true }, 'id 1');
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'GET /api/v1/tokens',
      'GET /api/v1/users/alice/tokens',
      'POST /api/v1/apps/shop/service-accounts/shop-ci/tokens',
      'DELETE /api/v1/tokens/id%201',
    ]);
    expect(JSON.parse(requests[2]!.body)).toEqual({ name: 'ci', expires: '30d' });
  });

  it('grants app roles through the app, and other roles through the organisation', async () => {
    const { client: api, requests } = await client((request) =>
      request.method === 'DELETE' ? { status: 204 } : { status: 201, body: {} },
    );
    await api.grantRole({ role: 'developer', subject: 'team:web', app: 'shop' });
    await api.grantRole({ role: 'deployer', subject: 'user:alice', envType: 'production' });
    await api.revokeRole({ role: 'owner', subject: 'user:bob', app: 'shop' });
    await api.revokeRole({ role: 'manager', subject: 'user:bob' });
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'POST /api/v1/apps/shop/role-bindings',
      'POST /api/v1/role-bindings',
      'DELETE /api/v1/apps/shop/role-bindings?role=owner&subject=user%3Abob',
      'DELETE /api/v1/role-bindings?role=manager&subject=user%3Abob',
    ]);
    expect(JSON.parse(requests[0]!.body)).toEqual({ role: 'developer', subject: 'team:web' });
  });

  it('pages through the audit log with its filters, and creates app service accounts through the app', async () => {
    const { client: api, requests } = await client((request) => {
      if (request.method === 'POST') return { status: 201, body: { name: 'ci' } };
      return request.url.includes('after=c1') ? page([{ seq: 1 }]) : page([{ seq: 2 }], 'c1');
    });
    const seen: number[] = [];
    for await (const audit of api.auditPages({ app: 'shop', since: '24h', order: 'asc' }, { limit: 1 })) {
      seen.push(...audit.items.map((entry) => entry.seq));
    }
    expect(seen).toEqual([2, 1]);
    await api.createUser({ name: 'ci', kind: 'service-account', app: 'shop', role: 'developer' });
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'GET /api/v1/apps/shop/audit?since=24h&order=asc&limit=1',
      'GET /api/v1/apps/shop/audit?since=24h&order=asc&after=c1&limit=1',
      'POST /api/v1/apps/shop/service-accounts',
    ]);
  });
});

describe('login credentials', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('saves one token per server, mode 0600, and removes it again', async () => {
    dir = await mkdtemp(join(tmpdir(), 'paved-login-'));
    const path = join(dir, 'paved', 'credentials.json');
    await saveLoginCredential(path, 'http://127.0.0.1:7070/', 'first');
    await saveLoginCredential(path, 'https://paved.example.com', 'other');
    await saveLoginCredential(path, 'http://127.0.0.1:7070', 'second');
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      'https://paved.example.com': 'other',
      'http://127.0.0.1:7070': 'second',
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'paved'))).mode & 0o777).toBe(0o700);
    expect(await removeLoginCredential(path, 'http://127.0.0.1:7070/')).toBe('second');
    expect(await removeLoginCredential(path, 'http://127.0.0.1:7070')).toBeUndefined();
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ 'https://paved.example.com': 'other' });
  });

  it('refuses to overwrite a file it cannot read as tokens', async () => {
    dir = await mkdtemp(join(tmpdir(), 'paved-login-'));
    const path = join(dir, 'credentials.json');
    await writeFile(path, '[1, 2]');
    await expect(saveLoginCredential(path, 'http://127.0.0.1:7070', 't')).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: `${path} is not a JSON object of server URL → token; fix or remove it, then log in again`,
    });
  });
});
