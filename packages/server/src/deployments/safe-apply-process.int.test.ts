/**
 * Safe apply on the process target, through a real server and its gateway, under a steady load
 * (issue 7): automatic rollback of a command that does not exist and of a crash at start, the
 * release phase, and liveness after go-live. The replace itself and the failing readiness probe
 * are in zero-downtime.int.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../start-server.js';
import { contextOf, type ContextTarball } from '../testing/context-tarball.js';
import { GatewayLoad } from '../testing/gateway-load.js';
import { appScore, eventually, SERVER_JS, TestApi, type AppOptions } from '../testing/safe-apply-app.js';
import { LogCapture } from '../testing/test-server.js';

const APP = `sap-${randomBytes(3).toString('hex')}`;

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- the assertions are the types of API answers */
describe('safe apply on the process target', () => {
  let root: string;
  let server: RunningServer;
  let api: TestApi;
  let context: ContextTarball;
  const log = new LogCapture();
  const host = (env: string): string => `web-${env}-${APP}.localhost`;

  async function createEnv(env: string): Promise<void> {
    const answer = await api.call('POST', `/api/v1/apps/${APP}/envs`, { name: env, type: 'development' });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  }

  const deploy = (env: string, options: AppOptions): Promise<any> => {
    const contexts: Record<string, string> = { main: context.hash };
    if (options.migrate !== undefined) contexts.migrate = context.hash;
    return api.deploy(APP, env, appScore('process', options), contexts);
  };

  /** Deploys a failing release under load; the previous one (answering `serving`) must not notice. */
  async function rejectedUnderLoad(env: string, serving: string, options: AppOptions): Promise<any> {
    const before = (await api.status(APP, env)).deployment as number;
    const load = new GatewayLoad(server.gatewayUrl, host(env));
    load.start(40);
    let failed: any;
    try {
      await load.until(serving, 300, 20_000);
      failed = await deploy(env, options);
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await load.stop();
    }
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('workload "web"');
    expect(failed.error).toContain('keeps running');
    expect(load.failures()).toEqual([]);
    expect(new Set(load.steady().map((o) => o.body))).toEqual(new Set([serving]));
    expect((await api.status(APP, env)).deployment).toBe(before);
    const events = await api.events(APP, env, failed.number as number);
    expect(events.some((event) => event.type === 'workload.failed')).toBe(true);
    return failed;
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'paved-safe-apply-'));
    // Workloads run as nobody when the tests run as root: they must traverse to the workDir.
    await chmod(root, 0o711);
    const dataDir = join(root, '.paved');
    server = await startServer({
      dataDir,
      port: 0,
      gatewayPort: 0,
      logDestination: log,
      workDir: join(root, 'work'),
      dockerHost: false,
      processTarget: { readinessTimeoutMs: 15_000, probeIntervalMs: 200, graceMs: 1000 },
    });
    api = await TestApi.of(server, dataDir);
    context = await contextOf({ 'server.mjs': SERVER_JS });
    expect((await api.call('POST', '/api/v1/apps', { name: APP })).status).toBe(201);
    expect((await api.call('PUT', `/api/v1/apps/${APP}/contexts/${context.hash}`, context.gzip)).status).toBe(
      201,
    );
  }, 60_000);

  afterAll(async () => {
    if (server !== undefined) {
      for (const env of ['live', 'release', 'alive']) {
        await api.call('DELETE', `/api/v1/apps/${APP}/envs/${env}?deleteData=true`);
      }
      await api.call('DELETE', `/api/v1/apps/${APP}`);
      await server.close();
    }
    await rm(root, { recursive: true, force: true });
  }, 60_000);

  describe('rollback', () => {
    beforeAll(async () => {
      await createEnv('live');
      const first = await deploy('live', { version: '1' });
      expect(first.status, first.error).toBe('succeeded');
    }, 60_000);

    it('rolls back a command that does not exist, saying it could not be started', async () => {
      const failed = await rejectedUnderLoad('live', '1', {
        version: '2',
        command: ['paved-no-such-command', 'server.mjs'],
      });
      // ENOENT, or EACCES when a directory on PATH is closed to the run-as user.
      expect(failed.error).toMatch(/could not start "paved-no-such-command": (ENOENT|EACCES) \(not found/);
    }, 60_000);

    it('rolls back a process that exits 1 at start, with its exit code and logs', async () => {
      const failed = await rejectedUnderLoad('live', '1', { version: '3', crash: true });
      expect(failed.error).toMatch(/crashed \d+ times before it was ready \(last exit code 1\)/);
      expect(failed.error).toContain('cannot reach the database');
    }, 60_000);
  });

  describe('release phase', () => {
    beforeAll(async () => {
      await createEnv('release');
      const first = await deploy('release', { version: '1', migrate: 'ok' });
      expect(first.status, first.error).toBe('succeeded');
    }, 60_000);

    it('runs the migration to completion before the new main process starts and takes traffic', async () => {
      const load = new GatewayLoad(server.gatewayUrl, host('release'));
      load.start(40);
      let deployment: any;
      try {
        await load.until('1', 300, 20_000);
        deployment = await deploy('release', { version: '2', migrate: 'ok' });
        await load.until('2', 500, 20_000);
      } finally {
        await load.stop();
      }
      expect(deployment.status, deployment.error).toBe('succeeded');
      expect(load.failures()).toEqual([]);
      expect(load.lateAnswers('1', '2')).toEqual([]);
      // The main process of release 2 found the schema of release 2 when it started.
      const probe = new GatewayLoad(server.gatewayUrl, host('release'));
      expect(await probe.send('/schema-at-start')).toMatchObject({ status: 200, body: '2' });
      await probe.stop();
      const status = await api.status(APP, 'release');
      const containers = status.workloads[0].containers as any[];
      expect(containers.find((c) => c.name === 'migrate')).toMatchObject({ state: 'completed', exitCode: 0 });
    }, 60_000);

    it('fails the deployment with the migration logs when it exits non-zero; traffic stays', async () => {
      const failed = await rejectedUnderLoad('release', '2', { version: '3', migrate: 'fail' });
      expect(failed.error).toContain('release-phase container exited with code 3 before completing');
      expect(failed.error).toContain('migration 3 failed: relation orders already exists');
      const probe = new GatewayLoad(server.gatewayUrl, host('release'));
      expect(await probe.send('/data/schema')).toMatchObject({ status: 200, body: '2' });
      await probe.stop();
    }, 60_000);
  });

  describe('liveness after go-live', () => {
    beforeAll(async () => {
      await createEnv('alive');
      const first = await deploy('alive', { version: '1', liveness: true });
      expect(first.status, first.error).toBe('succeeded');
    }, 60_000);

    it('restarts a process whose liveness probe fails; status and events show it', async () => {
      const probe = new GatewayLoad(server.gatewayUrl, host('alive'));
      expect(await probe.send('/sicken')).toMatchObject({ status: 200 });
      const main = await eventually(
        'a liveness restart in status',
        async () => {
          const status = await api.status(APP, 'alive');
          const container = (status.workloads[0]?.containers as any[] | undefined)?.find(
            (c) => c.name === 'main',
          );
          return container?.restarts >= 1 ? container : undefined;
        },
        30_000,
      );
      expect(main.lastProbeFailure.probe).toContain('liveness');
      expect(main.lastProbeFailure.probe).toContain('/alive');
      expect(main.lastProbeFailure.status).toContain('HTTP 500');
      await eventually(
        'the restarted process answering',
        async () => ((await probe.send('/alive')).body === 'ok' ? true : undefined),
        30_000,
      );
      await probe.stop();
      const deployment = (await api.status(APP, 'alive')).deployment as number;
      const events = await eventually(
        'the liveness events recorded on the deployment',
        async () => {
          const found = await api.events(APP, 'alive', deployment);
          const types = found.map((event) => event.type);
          return types.includes('container.unhealthy') && types.includes('container.restarted')
            ? found
            : undefined;
        },
        30_000,
      );
      const unhealthy = events.find((event) => event.type === 'container.unhealthy');
      expect(unhealthy.workload).toBe('web');
      expect(unhealthy.message).toContain('/alive');
    }, 60_000);
  });
});
