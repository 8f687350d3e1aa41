/**
 * The server's side of ADR 0015: a process workload whose supervisor died while the server was
 * down is started again at the next server start with its secret values (variables and
 * arguments), read from the sealed deployment, and no file of the runtime holds them.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesHolding } from '@paved/runtimes/testing/files-holding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer, type ServerOptions } from '../start-server.js';
import { contextOf } from '../testing/context-tarball.js';
import { eventually, TestApi } from '../testing/safe-apply-app.js';
import { LogCapture } from '../testing/test-server.js';

const APP = `psec-${randomBytes(3).toString('hex')}`;
const SECRET = `canary-${randomBytes(12).toString('hex')}`;
/** A secret handed to the workload in its command line rather than its environment. */
const SECRET_ARG = `canary-arg-${randomBytes(12).toString('hex')}`;
const SERVED = `${SECRET} ${SECRET_ARG}`;

const SERVER_JS = `import { createServer } from 'node:http';
createServer((req, res) => res.end((process.env.TOKEN ?? 'no token') + ' ' + (process.argv[2] ?? 'no argument'))).listen(Number(process.env.PORT), '127.0.0.1');
`;

const SCORE = `apiVersion: score.dev/v1b1
metadata:
  name: web
service:
  ports:
    www:
      port: 8080
containers:
  main:
    image: .
    command: ["node", "server.mjs"]
    args: ["\${resources.env.ARG_TOKEN}"]
    variables:
      TOKEN: \${resources.env.TOKEN}
resources:
  env:
    type: environment
`;

describe('process target secrets across a server restart', () => {
  let root: string;
  let options: ServerOptions;
  let server: RunningServer | undefined;
  let api: TestApi;
  const log = new LogCapture();
  const workloadDir = (): string => join(options.dataDir, 'runtime', 'process', APP, 'dev', 'web');
  const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
  const answer = async (): Promise<string | undefined> => {
    const record = readJson<{ ports: Record<string, { hostPort: number }> }>(
      join(workloadDir(), 'workload.json'),
    );
    try {
      const response = await fetch(`http://127.0.0.1:${record.ports.www?.hostPort ?? 0}/`);
      // The forwarder answers 502 itself while no instance is there to relay to.
      return response.ok ? await response.text() : undefined;
    } catch {
      return undefined;
    }
  };
  /** Every file under the data directory but the database, whose bytes contain the secret. */
  const filesHoldingSecret = (): string[] =>
    filesHolding(options.dataDir, [SECRET, SECRET_ARG], (name) => name.startsWith('paved.db'));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'paved-process-secrets-'));
    // Workloads run as nobody when the tests run as root: they must traverse to the workDir.
    await chmod(root, 0o711);
    options = {
      dataDir: join(root, '.paved'),
      port: 0,
      gatewayPort: 0,
      logDestination: log,
      workDir: join(root, 'work'),
      dockerHost: false,
      processTarget: { readinessTimeoutMs: 15_000, probeIntervalMs: 200, graceMs: 1000 },
    };
    server = await startServer(options);
    api = await TestApi.of(server, options.dataDir);
  }, 60_000);

  afterAll(async () => {
    if (server !== undefined) {
      await api.call('DELETE', `/api/v1/apps/${APP}/envs/dev?deleteData=true`);
      await api.call('DELETE', `/api/v1/apps/${APP}`);
      await server.close();
    }
    await rm(root, { recursive: true, force: true });
  }, 60_000);

  it('starts a dead supervisor again with the secrets from the sealed deployment', async () => {
    const context = await contextOf({ 'server.mjs': SERVER_JS });
    expect((await api.call('POST', '/api/v1/apps', { name: APP })).status).toBe(201);
    expect((await api.call('PUT', `/api/v1/apps/${APP}/contexts/${context.hash}`, context.gzip)).status).toBe(
      201,
    );
    expect(
      (await api.call('POST', `/api/v1/apps/${APP}/envs`, { name: 'dev', type: 'development' })).status,
    ).toBe(201);
    const set = await api.call('PATCH', `/api/v1/apps/${APP}/values`, {
      set: [
        { key: 'TOKEN', value: SECRET, secret: true },
        { key: 'ARG_TOKEN', value: SECRET_ARG, secret: true },
      ],
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const deployed = await api.deploy(APP, 'dev', SCORE, { main: context.hash });
    expect(deployed.status, JSON.stringify(deployed)).toBe('succeeded');
    expect(await answer()).toBe(SERVED);
    expect(filesHoldingSecret()).toEqual([]);

    // The server stops; its workload's supervisor and container die meanwhile (a crash, an OOM).
    await server?.close();
    server = undefined;
    const { instance } = readJson<{ instance: string }>(join(workloadDir(), 'workload.json'));
    const instanceDir = join(workloadDir(), 'instances', instance);
    const { supervisor } = readJson<{ supervisor: { pid: number } }>(join(instanceDir, 'instance.json'));
    process.kill(supervisor.pid, 'SIGKILL');
    const state = readJson<{ containers: Record<string, { process?: { pid: number } }> }>(
      join(instanceDir, 'state.json'),
    );
    for (const container of Object.values(state.containers)) {
      if (container.process !== undefined) process.kill(-container.process.pid, 'SIGKILL');
    }
    await eventually(
      'the workload to stop answering',
      async () => ((await answer()) === undefined ? true : undefined),
      10_000,
    );

    server = await startServer(options);
    api = await TestApi.of(server, options.dataDir);
    const served = await eventually(
      'the workload to answer again',
      async () => ((await answer()) === SERVED ? SERVED : undefined),
      20_000,
    );
    expect(served).toBe(SERVED);
    const respawned = readJson<{ supervisor: { pid: number }; failure?: string }>(
      join(instanceDir, 'instance.json'),
    );
    expect(respawned.supervisor.pid).not.toBe(supervisor.pid);
    expect(respawned.failure).toBeUndefined();
    expect(filesHoldingSecret()).toEqual([]);
    expect(log.text).not.toContain(SECRET);
    expect(log.text).not.toContain(SECRET_ARG);
  }, 120_000);
});
