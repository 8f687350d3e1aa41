/**
 * Safe apply on the docker target (Podman), through a real server and its gateway, under a steady
 * load over keep-alive connections (issue 7): zero-downtime replace with a slow request in flight
 * at the switch, automatic rollback of releases that never become ready, the release phase, and
 * liveness after go-live.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../start-server.js';
import { GatewayLoad } from '../testing/gateway-load.js';
import { appScore, eventually, TestApi, type AppOptions } from '../testing/safe-apply-app.js';
import { LogCapture } from '../testing/test-server.js';

const PODMAN = 'unix:///run/paved-test/podman.sock';
const APP = `zdd-${randomBytes(3).toString('hex')}`;
/**
 * A docker target of this test's own: a runtime adopts every container labelled with its target's
 * name on the engine, so servers of other suites sharing the engine with the built-in `docker`
 * target would adopt (and clean up) these containers, and this server theirs.
 */
const TARGET = `${APP}-engine`;

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return -- the assertions are the types of API answers */
describe('safe apply on the docker target', () => {
  let root: string;
  let server: RunningServer;
  let api: TestApi;
  const log = new LogCapture();
  const host = (env: string): string => `web-${env}-${APP}.localhost`;

  async function createEnv(env: string): Promise<void> {
    const answer = await api.call('POST', `/api/v1/apps/${APP}/envs`, {
      name: env,
      type: 'development',
      target: TARGET,
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  }

  const deploy = (env: string, options: AppOptions): Promise<any> =>
    api.deploy(APP, env, appScore('docker', options));

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
    root = await mkdtemp(join(tmpdir(), 'paved-zdd-docker-'));
    const dataDir = join(root, '.paved');
    server = await startServer({
      dataDir,
      port: 0,
      gatewayPort: 0,
      logDestination: log,
      workDir: join(root, 'work'),
      dockerHost: false,
      dockerTarget: { readinessTimeoutMs: 20_000, probeIntervalMs: 250, graceMs: 2000 },
    });
    api = await TestApi.of(server, dataDir);
    const applied = await api.call('POST', '/api/v1/apply', {
      documents: [
        {
          file: 'targets.yaml',
          line: 1,
          apiVersion: 'paved.dev/v1',
          kind: 'Target',
          metadata: { name: TARGET },
          spec: { type: 'docker', docker: { host: PODMAN } },
        },
      ],
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect((await api.call('POST', '/api/v1/apps', { name: APP })).status).toBe(201);
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
  }, 120_000);

  describe('replace and rollback', () => {
    beforeAll(async () => {
      await createEnv('live');
      const first = await deploy('live', { version: '1' });
      expect(first.status, first.error).toBe('succeeded');
    }, 180_000);

    it('switches under load with zero failed requests; the old container drains, then gets SIGTERM', async () => {
      const load = new GatewayLoad(server.gatewayUrl, host('live'));
      load.start(25);
      try {
        await load.until('1', 500, 20_000);
        // Long enough to be in flight when the new instance has passed readiness and takes over.
        const slow = load.send('/slow?ms=6000');
        await new Promise((resolve) => setTimeout(resolve, 200));
        const deployment = await deploy('live', { version: '2' });
        const deployed = Date.now();
        expect(deployment.status, deployment.error).toBe('succeeded');
        await load.until('2', 1000, 20_000);
        const slowOutcome = await slow;
        expect(slowOutcome).toMatchObject({ status: 200, body: '1' });
        // Version 2 answered while the slow request was still in flight on version 1, and the
        // deployment (which stops the old container) finished only after the slow one did.
        const switched = Math.min(
          ...load
            .steady()
            .filter((o) => o.body === '2')
            .map((o) => o.ended),
        );
        expect(switched).toBeLessThan(slowOutcome.ended);
        expect(slowOutcome.ended).toBeLessThanOrEqual(deployed);
      } finally {
        await load.stop();
      }
      expect(load.failures()).toEqual([]);
      expect(load.rate()).toBeGreaterThanOrEqual(20);
      // Once version 2 has answered, no request started later reaches version 1.
      expect(load.lateAnswers('1', '2')).toEqual([]);
      expect(new Set(load.steady().map((o) => o.body))).toEqual(new Set(['1', '2']));
      // The old container wrote, on SIGTERM, how many requests it still had: none (drained).
      const probe = new GatewayLoad(server.gatewayUrl, host('live'));
      const sigterm = await probe.send('/data/sigterm-1');
      await probe.stop();
      expect(sigterm).toMatchObject({ status: 200, body: '0' });
    }, 240_000);

    it('rolls back an image that does not exist, with the pull error as evidence', async () => {
      const failed = await rejectedUnderLoad('live', '2', {
        version: '3',
        image: 'localhost/paved-no-such-image:never',
      });
      expect(failed.error).toContain('paved-no-such-image');
    }, 240_000);

    it('rolls back a container that exits 1 at start, with its exit code and logs', async () => {
      const failed = await rejectedUnderLoad('live', '2', { version: '4', crash: true });
      expect(failed.error).toMatch(/exit code 1/);
      expect(failed.error).toContain('cannot reach the database');
    }, 240_000);

    it('rolls back a release whose readiness probe fails, with the probe and its answer', async () => {
      const failed = await rejectedUnderLoad('live', '2', { version: '5', healthy: false });
      expect(failed.error).toContain('/healthz');
      expect(failed.error).toContain('HTTP 500');
    }, 240_000);
  });

  describe('release phase', () => {
    beforeAll(async () => {
      await createEnv('release');
      const first = await deploy('release', { version: '1', migrate: 'ok' });
      expect(first.status, first.error).toBe('succeeded');
    }, 180_000);

    it('runs the migration to completion before the new main container starts and takes traffic', async () => {
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
      // The main container of release 2 found the schema of release 2 when it started.
      const probe = new GatewayLoad(server.gatewayUrl, host('release'));
      expect(await probe.send('/schema-at-start')).toMatchObject({ status: 200, body: '2' });
      await probe.stop();
      const status = await api.status(APP, 'release');
      const containers = status.workloads[0].containers as any[];
      expect(containers.find((c) => c.name === 'migrate')).toMatchObject({ state: 'completed', exitCode: 0 });
    }, 240_000);

    it('fails the deployment with the migration logs when it exits non-zero; traffic stays', async () => {
      const failed = await rejectedUnderLoad('release', '2', { version: '3', migrate: 'fail' });
      expect(failed.error).toContain('release-phase container "migrate" exited with code 3');
      expect(failed.error).toContain('migration 3 failed: relation orders already exists');
      // The new main container never started: the schema is still release 2's.
      const probe = new GatewayLoad(server.gatewayUrl, host('release'));
      expect(await probe.send('/data/schema')).toMatchObject({ status: 200, body: '2' });
      await probe.stop();
    }, 240_000);
  });

  describe('liveness after go-live', () => {
    beforeAll(async () => {
      await createEnv('alive');
      const first = await deploy('alive', { version: '1', liveness: true });
      expect(first.status, first.error).toBe('succeeded');
    }, 180_000);

    it('restarts a container whose liveness probe fails; status and events show it', async () => {
      const probe = new GatewayLoad(server.gatewayUrl, host('alive'));
      expect(await probe.send('/sicken')).toMatchObject({ status: 200 });
      const main = await eventually(
        'a liveness restart in status',
        async () => {
          const status = await api.status(APP, 'alive');
          const container = (status.workloads[0]?.containers as any[] | undefined)?.find(
            (c) => c.name === 'main',
          );
          return container?.restarts >= 1 && status.workloads[0].ready === true ? container : undefined;
        },
        60_000,
      );
      expect(main.lastProbeFailure.probe).toContain('liveness');
      expect(main.lastProbeFailure.probe).toContain('/alive');
      expect(main.lastProbeFailure.status).toContain('HTTP 500');
      // The restarted container is healthy again and serves.
      await eventually(
        'the restarted container answering',
        async () => ((await probe.send('/alive')).body === 'ok' ? true : undefined),
        60_000,
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
      expect(unhealthy.message).toContain('liveness');
    }, 240_000);
  });
});
