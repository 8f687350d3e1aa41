import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  dataDirCredentialsPath,
  loginCredentialsPath,
  pickCredential,
  readCredentialFile,
  resolveCredential,
} from './credentials.js';
import { PavedClient } from './paved-client.js';
import { startRecordingServer } from './testing/recording-server.js';

const URL_A = 'http://127.0.0.1:7070';

describe('pickCredential', () => {
  const dataDir = (url: string, token = 'data-token') => ({
    path: '/d/credentials.json',
    content: { url, token },
  });
  const login = (content: unknown) => ({ path: '/h/.config/paved/credentials.json', content });

  it('prefers PAVED_TOKEN over every file', () => {
    const picked = pickCredential({
      serverUrl: URL_A,
      envToken: 'env-token',
      login: login({ [URL_A]: 'login-token' }),
      dataDir: dataDir(URL_A),
    });
    expect(picked.credential).toEqual({ token: 'env-token', source: 'PAVED_TOKEN' });
  });

  it('treats an empty PAVED_TOKEN as unset', () => {
    expect(
      pickCredential({ serverUrl: URL_A, envToken: '', dataDir: dataDir(URL_A) }).credential?.source,
    ).toBe('data-dir');
  });

  it('uses the login token saved for exactly this server, before the data directory', () => {
    const picked = pickCredential({
      serverUrl: `${URL_A}/`,
      login: login({ 'http://127.0.0.1:7071': 'other', [`${URL_A}/`]: 'login-token' }),
      dataDir: dataDir(URL_A),
    });
    expect(picked.credential).toEqual({
      token: 'login-token',
      source: 'login',
      file: '/h/.config/paved/credentials.json',
    });
  });

  it('falls back to the data directory when login has nothing for this server', () => {
    const picked = pickCredential({
      serverUrl: URL_A,
      login: login({ 'http://localhost:7070': 'login-token' }),
      dataDir: dataDir(`${URL_A}//`),
    });
    expect(picked.credential).toEqual({
      token: 'data-token',
      source: 'data-dir',
      file: '/d/credentials.json',
    });
    expect(picked.serverUrl).toBe(URL_A);
  });

  it.each([
    ['another port', 'http://127.0.0.1:7071'],
    ['another scheme', 'https://127.0.0.1:7070'],
    ['another host name for the same machine', 'http://localhost:7070'],
    ['another path', 'http://127.0.0.1:7070/x'],
  ])('never uses a data-directory credential issued for %s', (_what, url) => {
    const picked = pickCredential({ serverUrl: URL_A, dataDir: dataDir(url) });
    expect(picked.credential).toBeUndefined();
    expect(picked.notes).toEqual([
      `/d/credentials.json is for ${url}, not ${URL_A}; a credential file is only sent to the server it was issued for`,
    ]);
  });

  it('notes files that are unreadable or malformed instead of failing', () => {
    const picked = pickCredential({
      serverUrl: URL_A,
      login: { path: '/h/c.json', problem: 'is not valid JSON' },
      dataDir: { path: '/d/c.json', content: { token: 'no url' } },
    });
    expect(picked.credential).toBeUndefined();
    expect(picked.notes).toEqual([
      '/h/c.json is not valid JSON; ignored',
      '/d/c.json does not hold {"url","token"}; ignored',
    ]);
  });

  it('returns no credential and no notes when nothing exists', () => {
    expect(pickCredential({ serverUrl: URL_A })).toEqual({ serverUrl: URL_A, notes: [] });
  });
});

describe('credential files on disk', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'paved-credentials-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('finds the login file under XDG_CONFIG_HOME when it is absolute, else under ~/.config', () => {
    expect(loginCredentialsPath({ XDG_CONFIG_HOME: '/xdg' }, '/home/u')).toBe('/xdg/paved/credentials.json');
    expect(loginCredentialsPath({ XDG_CONFIG_HOME: 'relative' }, '/home/u')).toBe(
      '/home/u/.config/paved/credentials.json',
    );
    expect(loginCredentialsPath({}, '/home/u')).toBe('/home/u/.config/paved/credentials.json');
    expect(dataDirCredentialsPath('/srv/paved')).toBe('/srv/paved/credentials.json');
  });

  it('reads missing, malformed and valid files without throwing', async () => {
    const path = join(root, 'c.json');
    await expect(readCredentialFile(path)).resolves.toEqual({ path, missing: true });
    await writeFile(path, '{oops');
    await expect(readCredentialFile(path)).resolves.toEqual({ path, problem: 'is not valid JSON' });
    await writeFile(path, '{"url":"u","token":"t"}');
    await expect(readCredentialFile(path)).resolves.toEqual({ path, content: { url: 'u', token: 't' } });
    if (process.getuid?.() !== 0) {
      await chmod(path, 0o000);
      await expect(readCredentialFile(path)).resolves.toMatchObject({ problem: 'cannot be read (EACCES)' });
    }
  });

  it('resolves in order: PAVED_TOKEN, login file, data directory', async () => {
    const xdg = join(root, 'xdg');
    const dataDir = join(root, 'data');
    await mkdir(join(xdg, 'paved'), { recursive: true });
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'credentials.json'), JSON.stringify({ url: URL_A, token: 'data-token' }));
    const env = { XDG_CONFIG_HOME: xdg };

    await expect(resolveCredential({ serverUrl: URL_A, dataDir, env })).resolves.toMatchObject({
      credential: { token: 'data-token', source: 'data-dir', file: join(dataDir, 'credentials.json') },
    });

    await writeFile(join(xdg, 'paved', 'credentials.json'), JSON.stringify({ [URL_A]: 'login-token' }));
    await expect(resolveCredential({ serverUrl: URL_A, dataDir, env })).resolves.toMatchObject({
      credential: { token: 'login-token', source: 'login' },
    });

    await expect(
      resolveCredential({ serverUrl: URL_A, dataDir, env: { ...env, PAVED_TOKEN: 'env-token' } }),
    ).resolves.toMatchObject({ credential: { token: 'env-token', source: 'PAVED_TOKEN' } });
  });

  it('never sends a data-directory credential to a server whose URL differs from the one in the file', async () => {
    // A real server records the Authorization header of every request it gets.
    const server = await startRecordingServer(() => ({
      status: 401,
      body: { error: { code: 'UNAUTHENTICATED', message: 'a token is required' } },
    }));
    try {
      const dataDir = join(root, 'data');
      await mkdir(dataDir);
      const elsewhere = 'http://127.0.0.1:1'; // the server the file was issued for
      await writeFile(
        join(dataDir, 'credentials.json'),
        JSON.stringify({ url: elsewhere, token: 'secret-admin' }),
      );
      const env = { XDG_CONFIG_HOME: join(root, 'xdg') };

      const resolution = await resolveCredential({ serverUrl: server.url, dataDir, env });
      expect(resolution.credential).toBeUndefined();
      const client = new PavedClient({ url: server.url, token: resolution.credential?.token });
      await expect(client.whoami()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

      // Issued for this very server (spelled with a trailing slash), it is sent.
      await writeFile(
        join(dataDir, 'credentials.json'),
        JSON.stringify({ url: `${server.url}/`, token: 'secret-admin' }),
      );
      const matching = await resolveCredential({ serverUrl: server.url, dataDir, env });
      await new PavedClient({ url: server.url, token: matching.credential?.token })
        .whoami()
        .catch(() => undefined);

      expect(server.requests.map((request) => request.headers.authorization)).toEqual([
        undefined,
        'Bearer secret-admin',
      ]);
    } finally {
      await server.close();
    }
  });
});
