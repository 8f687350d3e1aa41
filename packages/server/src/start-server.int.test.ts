import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '@paved/store';
import { TEST_ENGINES, createTestStore, type TestStore } from '@paved/store/testing/test-databases';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer, type ServerOptions } from './start-server.js';
import { LogCapture } from './testing/test-server.js';

const mode = async (path: string) => (await stat(path)).mode & 0o777;

for (const engine of TEST_ENGINES) {
  describe(`startServer [${engine}]`, () => {
    let database: TestStore;
    let root: string;
    let dataDir: string;
    const running: RunningServer[] = [];

    beforeEach(async () => {
      database = await createTestStore(engine);
      // The server opens the database itself; the test store only provides a fresh one.
      await database.store.close();
      root = await mkdtemp(join(tmpdir(), 'paved-server-test-'));
      dataDir = join(root, 'nested', '.paved');
    });

    afterEach(async () => {
      for (const server of running.splice(0)) await server.close();
      await database.cleanup();
      await rm(root, { recursive: true, force: true });
    });

    async function start(
      extra: Partial<ServerOptions> = {},
    ): Promise<{ server: RunningServer; log: LogCapture }> {
      const log = new LogCapture();
      const server = await startServer({
        dataDir,
        port: 0,
        gatewayPort: 0,
        logDestination: log,
        ...(database.options.databaseUrl === undefined ? {} : { databaseUrl: database.options.databaseUrl }),
        ...extra,
      });
      running.push(server);
      return { server, log };
    }

    it('creates the data directory, master key, administrator and credential file on the first start', async () => {
      const { server, log } = await start();
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await mode(dataDir)).toBe(0o700);
      expect(await mode(join(dataDir, 'master.key'))).toBe(0o600);
      expect((await readFile(join(dataDir, 'master.key'))).length).toBe(32);
      const credentialsFile = join(dataDir, 'credentials.json');
      expect(await mode(credentialsFile)).toBe(0o600);
      const credentials = JSON.parse(await readFile(credentialsFile, 'utf8'));
      expect(credentials).toEqual({
        url: server.url,
        token: expect.stringMatching(/^paved_[A-Za-z0-9_-]{43}$/),
      });

      const whoami = await fetch(`${server.url}/api/v1/whoami`, {
        headers: { authorization: `Bearer ${credentials.token}` },
      });
      expect(whoami.status).toBe(200);
      expect(await whoami.json()).toMatchObject({
        name: 'admin',
        roles: [{ role: 'administrator', scope: { kind: 'org' } }],
      });
      expect((await fetch(`${server.url}/api/v1/health`)).status).toBe(200);
      expect((await fetch(`${server.url}/api/v1/apps`)).status).toBe(401);

      const entries = log.entries();
      expect(entries).toContainEqual(
        expect.objectContaining({ msg: 'paved server listening', url: server.url }),
      );
      expect(entries).toContainEqual(
        expect.objectContaining({
          msg: 'created the administrator; its token is in the credential file',
          credentialsFile,
        }),
      );
      expect(log.text).not.toContain(credentials.token);
    });

    it('does not create a second administrator on the next start, and keeps the credential current', async () => {
      const first = await start();
      const credentialsFile = join(dataDir, 'credentials.json');
      const before = JSON.parse(await readFile(credentialsFile, 'utf8'));
      const key = await readFile(join(dataDir, 'master.key'));
      await first.server.close();
      running.splice(0);

      const second = await start();
      const after = JSON.parse(await readFile(credentialsFile, 'utf8'));
      expect(after).toEqual({ url: second.server.url, token: before.token });
      expect(await mode(credentialsFile)).toBe(0o600);
      expect(await readFile(join(dataDir, 'master.key'))).toEqual(key);
      expect(second.log.text).not.toContain('created the administrator');
      const response = await fetch(`${second.server.url}/api/v1/whoami`, {
        headers: { authorization: `Bearer ${before.token}` },
      });
      expect(response.status).toBe(200);
      await second.server.close();
      running.splice(0);

      const store = await openStore({
        dataDir,
        ...(database.options.databaseUrl === undefined ? {} : { databaseUrl: database.options.databaseUrl }),
      });
      try {
        const principals = (await store.principals.list()).items;
        expect(principals.map((principal) => principal.name)).toEqual(['admin']);
        expect(await store.grants.listFor([principals[0]!.id])).toHaveLength(1);
        expect(await store.tokens.listFor(principals[0]!.id)).toHaveLength(1);
      } finally {
        await store.close();
      }
    });

    it('fails with UNAVAILABLE when the port is taken', async () => {
      const { server } = await start();
      const port = Number(new URL(server.url).port);
      await expect(start({ port })).rejects.toMatchObject({
        code: 'UNAVAILABLE',
        message: expect.stringContaining(`port ${port} on 127.0.0.1 is in use`),
      });
    });
  });
}
