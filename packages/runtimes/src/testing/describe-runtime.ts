/**
 * The conformance suite every `Runtime` runs: the same cases against the process target, Docker
 * and Kubernetes. Workloads are described by behaviour (the conformance server's variables); the
 * factory says how its target runs the server. A runtime that cannot pass a case skips it with a
 * reason, which shows in the test name.
 *
 * @example
 * describeRuntime('process', async () => {
 *   const runtime = new ProcessRuntime({ stateDir, workDir, readinessTimeoutMs: 8000 });
 *   await runtime.init();
 *   return { runtime, container: () => ({ image: '.', context, command: ['node', 'server.mjs'] }), restart, cleanup };
 * }, { readinessTimeoutMs: 8000 });
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ApplyResult,
  EnvironmentRef,
  LogLine,
  Probe,
  RenderedContainer,
  RenderedWorkload,
  Runtime,
  RuntimeEvent,
  WorkloadStatus,
} from '@paved/core';

export const RUNTIME_CASES = [
  'start',
  'replace',
  'zero-downtime replace',
  'unchanged',
  'delete',
  'status',
  'logs',
  'crash',
  'liveness',
  'adoption',
  'readiness failure',
  'before',
] as const;
export type RuntimeCase = (typeof RUNTIME_CASES)[number];

export interface RuntimeHarness {
  /** The runtime under test, `init()` already called. */
  runtime: Runtime;
  /** How this target runs the conformance server: image, context, command. */
  container(): Pick<RenderedContainer, 'image' | 'context' | 'command' | 'args'>;
  /**
   * Simulates a server restart: closes the current runtime object, makes the instances of the
   * workloads named in `kill` die as if they crashed while the server was down, and returns a new
   * runtime object over the same state with `init()` called.
   */
  restart(options: { env: EnvironmentRef; kill: string[] }): Promise<Runtime>;
  /** Removes whatever the harness created; the suite has destroyed its environments before. */
  cleanup(): Promise<void>;
}

export interface DescribeRuntimeOptions {
  /** The readiness timeout the factory's runtime was given (the failure case waits that long). */
  readinessTimeoutMs: number;
  /** Cases this runtime cannot pass, each with the reason. */
  skip?: Partial<Record<RuntimeCase, string>>;
  /** Environment names are `<app>/c<N>`; the app defaults to `conformance`. */
  app?: string;
}

export interface TestContainer {
  variables?: Record<string, string>;
  before?: RenderedContainer['before'];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}

export interface TestWorkload {
  name: string;
  deployment?: number;
  /** Changes the spec hash and what `GET /` echoes. */
  version?: string;
  /** Default: one container `main` serving HTTP. */
  containers?: Record<string, TestContainer>;
  /** Whether it has the service port `http` (80 → 8080). Default true. */
  port?: boolean;
}

/** The port the conformance server listens on inside containers; the process target sets PORT. */
export const CONFORMANCE_PORT = 8080;

export function describeRuntime(
  name: string,
  factory: () => Promise<RuntimeHarness>,
  options: DescribeRuntimeOptions,
): void {
  describe(`Runtime conformance: ${name}`, () => {
    let harness: RuntimeHarness;
    let runtime: Runtime;
    let counter = 0;
    const app = options.app ?? 'conformance';

    beforeAll(async () => {
      harness = await factory();
      runtime = harness.runtime;
    });
    afterAll(async () => {
      await harness?.cleanup();
    });

    const makeWorkload = (spec: TestWorkload): RenderedWorkload => {
      const base = harness.container();
      const containers = Object.fromEntries(
        Object.entries(spec.containers ?? { main: {} }).map(
          ([container, test]): [string, RenderedContainer] => [
            container,
            {
              ...base,
              variables: {
                CONFORMANCE_PORT: String(CONFORMANCE_PORT),
                CONFORMANCE_VERSION: spec.version ?? 'v1',
                ...test.variables,
              },
              secretVariables: [],
              files: [],
              volumes: [],
              before: test.before ?? {},
              ...(test.readinessProbe === undefined ? {} : { readinessProbe: test.readinessProbe }),
              ...(test.livenessProbe === undefined ? {} : { livenessProbe: test.livenessProbe }),
            },
          ],
        ),
      );
      const ports: RenderedWorkload['ports'] =
        spec.port === false ? {} : { http: { port: 80, targetPort: CONFORMANCE_PORT, protocol: 'TCP' } };
      const specHash = createHash('sha256').update(JSON.stringify({ containers, ports })).digest('hex');
      return { name: spec.name, deployment: spec.deployment ?? 1, specHash, containers, ports };
    };

    /** Runs `body` in a fresh environment and destroys it afterwards, whatever happened. */
    const inEnvironment = async (body: (env: EnvironmentRef) => Promise<void>): Promise<void> => {
      counter += 1;
      const env = { app, env: `c${counter}` };
      try {
        await body(env);
      } finally {
        await runtime.destroy(env);
      }
    };

    const deploy = async (
      env: EnvironmentRef,
      workloads: RenderedWorkload[],
      events: RuntimeEvent[] = [],
    ): Promise<ApplyResult> => {
      const plan = await runtime.plan(env, workloads);
      return runtime.apply(plan, (event) => events.push(event), new AbortController().signal);
    };

    const deployOk = async (env: EnvironmentRef, workloads: RenderedWorkload[]): Promise<void> => {
      const result = await deploy(env, workloads);
      for (const outcome of result.workloads) {
        expect(
          outcome,
          `${outcome.workload}: ${outcome.error ?? ''} ${JSON.stringify(outcome.evidence)}`,
        ).toMatchObject({ ok: true });
      }
    };

    const statusOf = async (env: EnvironmentRef, workload: string): Promise<WorkloadStatus | undefined> =>
      (await runtime.status(env)).find((status) => status.name === workload);

    const addressOf = async (env: EnvironmentRef, workload: string): Promise<string> => {
      const address = (await statusOf(env, workload))?.ports.find((port) => port.name === 'http')?.address;
      expect(address, `workload "${workload}" has an address`).toBeDefined();
      return address ?? '';
    };

    const collectLogs = async (
      env: EnvironmentRef,
      workload: string,
      container?: string,
    ): Promise<LogLine[]> => {
      const lines: LogLine[] = [];
      for await (const line of runtime.logs(env, workload, container === undefined ? {} : { container }))
        lines.push(line);
      return lines;
    };

    const test = (what: RuntimeCase, body: () => Promise<void>, timeoutMs?: number): void => {
      const reason = options.skip?.[what];
      if (reason !== undefined) it.skip(`${what} — skipped: ${reason}`, body);
      else it(what, body, timeoutMs);
    };

    test('start', async () => {
      await inEnvironment(async (env) => {
        const events: RuntimeEvent[] = [];
        const plan = await runtime.plan(env, [makeWorkload({ name: 'web' })]);
        expect(plan.items).toMatchObject([{ workload: 'web', action: 'create' }]);
        const result = await runtime.apply(plan, (event) => events.push(event), new AbortController().signal);
        expect(result.workloads).toMatchObject([{ workload: 'web', action: 'create', ok: true }]);
        expect(events.map((event) => event.type)).toEqual(
          expect.arrayContaining(['workload.starting', 'workload.ready']),
        );
        const body = await getJson(await addressOf(env, 'web'), '/');
        expect(body).toMatchObject({ version: 'v1' });
      });
    });

    test('replace', async () => {
      await inEnvironment(async (env) => {
        await deployOk(env, [makeWorkload({ name: 'web', version: 'v1' })]);
        const address = await addressOf(env, 'web');
        const before = await getJson(address, '/');
        const plan = await runtime.plan(env, [makeWorkload({ name: 'web', version: 'v2', deployment: 2 })]);
        expect(plan.items).toMatchObject([{ workload: 'web', action: 'update' }]);
        const result = await runtime.apply(plan, () => undefined, new AbortController().signal);
        expect(result.workloads).toMatchObject([{ ok: true }]);
        const after = await getJson(await addressOf(env, 'web'), '/');
        expect(after).toMatchObject({ version: 'v2' });
        expect(after.boot).not.toBe(before.boot);
        expect(await statusOf(env, 'web')).toMatchObject({ deployment: 2, ready: true });
        // The old instance is gone: every answer, many times over, comes from the new one.
        for (let i = 0; i < 5; i += 1)
          expect(await getJson(await addressOf(env, 'web'), '/')).toMatchObject({ boot: after.boot });
      });
    });

    test('zero-downtime replace', async () => {
      await inEnvironment(async (env) => {
        await deployOk(env, [makeWorkload({ name: 'web', version: 'v1' })]);
        const address = await addressOf(env, 'web');
        let failures = 0;
        let answers = 0;
        let running = true;
        const load = (async () => {
          while (running) {
            try {
              await getJson(address, '/');
              answers += 1;
            } catch {
              failures += 1;
            }
          }
        })();
        await deployOk(env, [makeWorkload({ name: 'web', version: 'v2', deployment: 2 })]);
        await sleep(300);
        running = false;
        await load;
        expect(answers).toBeGreaterThan(0);
        expect(failures).toBe(0);
        expect(await addressOf(env, 'web')).toBe(address);
      });
    });

    test('unchanged', async () => {
      await inEnvironment(async (env) => {
        const workload = makeWorkload({ name: 'web' });
        await deployOk(env, [workload]);
        const first = await getJson(await addressOf(env, 'web'), '/');
        const plan = await runtime.plan(env, [{ ...workload, deployment: 2 }]);
        expect(plan.items).toMatchObject([{ workload: 'web', action: 'unchanged' }]);
        const result = await runtime.apply(plan, () => undefined, new AbortController().signal);
        expect(result.workloads).toMatchObject([{ workload: 'web', action: 'unchanged', ok: true }]);
        expect(await getJson(await addressOf(env, 'web'), '/')).toMatchObject({ boot: first.boot });
      });
    });

    test('delete', async () => {
      await inEnvironment(async (env) => {
        await deployOk(env, [makeWorkload({ name: 'web' }), makeWorkload({ name: 'api' })]);
        const address = await addressOf(env, 'api');
        const plan = await runtime.plan(env, [makeWorkload({ name: 'web' })]);
        expect(plan.items).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ workload: 'web', action: 'unchanged' }),
            expect.objectContaining({ workload: 'api', action: 'delete' }),
          ]),
        );
        const result = await runtime.apply(plan, () => undefined, new AbortController().signal);
        expect(result.workloads.every((outcome) => outcome.ok)).toBe(true);
        expect((await runtime.status(env)).map((status) => status.name)).toEqual(['web']);
        await expect(getJson(address, '/')).rejects.toThrow();
      });
    });

    test('status', async () => {
      await inEnvironment(async (env) => {
        await deployOk(env, [
          makeWorkload({
            name: 'web',
            deployment: 7,
            containers: { main: {}, side: { variables: { CONFORMANCE_MODE: 'idle' } } },
          }),
        ]);
        const status = await statusOf(env, 'web');
        expect(status).toMatchObject({ name: 'web', deployment: 7, state: 'ready', ready: true });
        expect(status?.containers.map((container) => container.name).sort()).toEqual(['main', 'side']);
        for (const container of status?.containers ?? [])
          expect(container).toMatchObject({ state: 'running', restarts: 0 });
        expect(status?.ports.map((port) => [port.name, port.port])).toEqual([['http', 80]]);
        expect(status?.ports[0]?.address).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(await runtime.status({ app, env: 'never-deployed' })).toEqual([]);
      });
    });

    test('logs', async () => {
      await inEnvironment(async (env) => {
        await deployOk(env, [makeWorkload({ name: 'web' })]);
        const address = await addressOf(env, 'web');
        await getJson(address, '/first');
        await eventually(async () => {
          const lines = await collectLogs(env, 'web');
          expect(lines.map((line) => line.line)).toContain('request /first');
        });
        const all = await collectLogs(env, 'web', 'main');
        expect(all.every((line) => line.container === 'main')).toBe(true);
        expect(all.some((line) => line.line.startsWith('boot ') && line.stream === 'stdout')).toBe(true);
        const tail: LogLine[] = [];
        for await (const line of runtime.logs(env, 'web', { tail: 1 })) tail.push(line);
        expect(tail).toEqual([all.at(-1)]);
        const since: LogLine[] = [];
        for await (const line of runtime.logs(env, 'web', { since: new Date(Date.now() + 60_000) }))
          since.push(line);
        expect(since).toEqual([]);

        // Follow: a line written after the call arrives; aborting ends the iteration.
        const controller = new AbortController();
        const followed: string[] = [];
        const following = (async () => {
          for await (const line of runtime.logs(env, 'web', {
            follow: true,
            tail: 0,
            signal: controller.signal,
          })) {
            followed.push(line.line);
            if (line.line === 'request /followed') controller.abort();
          }
        })();
        await sleep(500);
        await getJson(address, '/followed');
        const timer = setTimeout(() => controller.abort(), 10_000);
        await following;
        clearTimeout(timer);
        expect(followed).toContain('request /followed');
        expect(followed).not.toContain('request /first');
      });
    });

    test('crash', async () => {
      await inEnvironment(async (env) => {
        await deployOk(env, [makeWorkload({ name: 'web' })]);
        const address = await addressOf(env, 'web');
        const before = await getJson(address, '/');
        await getJson(address, '/crash').catch(() => undefined);
        await eventually(async () => {
          const status = await statusOf(env, 'web');
          expect(status?.containers[0]?.restarts).toBeGreaterThanOrEqual(1);
          // The docker target learns exit codes from the engine's event stream, which may come
          // in after the restart count: eventually, not at the same moment.
          expect(status?.containers[0]).toMatchObject({ exitCode: 3 });
          const after = await getJson(address, '/');
          expect(after.boot).not.toBe(before.boot);
        }, 20_000);
      });
    }, 40_000);

    test('liveness', async () => {
      await inEnvironment(async (env) => {
        const live: Probe = { httpGet: { path: '/live', port: CONFORMANCE_PORT } };
        await deployOk(env, [
          makeWorkload({
            name: 'web',
            containers: {
              main: { variables: { CONFORMANCE_LIVE_FAIL_AFTER_MS: '2500' }, livenessProbe: live },
            },
          }),
        ]);
        await eventually(async () => {
          const status = await statusOf(env, 'web');
          expect(status?.containers[0]?.restarts).toBeGreaterThanOrEqual(1);
        }, 30_000);
      });
    }, 45_000);

    test('adoption', async () => {
      await inEnvironment(async (env) => {
        await deployOk(env, [makeWorkload({ name: 'kept' }), makeWorkload({ name: 'killed' })]);
        const kept = await getJson(await addressOf(env, 'kept'), '/');
        const killed = await getJson(await addressOf(env, 'killed'), '/');
        runtime = await harness.restart({ env, kill: ['killed'] });
        expect(await getJson(await addressOf(env, 'kept'), '/')).toMatchObject({ boot: kept.boot });
        await eventually(async () => {
          const again = await getJson(await addressOf(env, 'killed'), '/');
          expect(again.boot).not.toBe(killed.boot);
        }, 20_000);
        const plan = await runtime.plan(env, [
          makeWorkload({ name: 'kept' }),
          makeWorkload({ name: 'killed' }),
        ]);
        expect(plan.items.map((item) => item.action)).toEqual(['unchanged', 'unchanged']);
      });
    }, 45_000);

    test(
      'readiness failure',
      async () => {
        await inEnvironment(async (env) => {
          const ready: Probe = { httpGet: { path: '/ready', port: CONFORMANCE_PORT } };
          const events: RuntimeEvent[] = [];
          const failed = await deploy(
            env,
            [
              makeWorkload({
                name: 'web',
                containers: { main: { variables: { CONFORMANCE_READY: 'never' }, readinessProbe: ready } },
              }),
            ],
            events,
          );
          const outcome = failed.workloads[0];
          expect(outcome, JSON.stringify(outcome)).toMatchObject({ workload: 'web', ok: false });
          expect(outcome?.evidence, JSON.stringify(outcome)).toBeDefined();
          expect(outcome?.error).toContain('web');
          expect(outcome?.evidence?.probe).toContain('/ready');
          expect(outcome?.evidence?.lastStatus).toContain('503');
          expect(outcome?.evidence?.lastLogLines?.some((line) => line.includes('request /ready'))).toBe(true);
          expect(events.some((event) => event.type === 'workload.failed')).toBe(true);
          expect(await runtime.status(env)).toEqual([]);

          // A failed update leaves the old instance serving.
          await deployOk(env, [
            makeWorkload({ name: 'web', version: 'good', containers: { main: { readinessProbe: ready } } }),
          ]);
          const good = await getJson(await addressOf(env, 'web'), '/');
          const update = await deploy(env, [
            makeWorkload({
              name: 'web',
              version: 'bad',
              deployment: 2,
              containers: { main: { variables: { CONFORMANCE_READY: 'never' }, readinessProbe: ready } },
            }),
          ]);
          expect(update.workloads[0]).toMatchObject({ ok: false, action: 'update' });
          expect(await getJson(await addressOf(env, 'web'), '/')).toMatchObject({
            version: 'good',
            boot: good.boot,
          });
          expect(await statusOf(env, 'web')).toMatchObject({ deployment: 1, ready: true });
        });
      },
      options.readinessTimeoutMs * 2 + 30_000,
    );

    test('before', async () => {
      await inEnvironment(async (env) => {
        await deployOk(env, [
          makeWorkload({
            name: 'web',
            containers: {
              main: { before: { init: { ready: 'complete' }, side: { ready: 'healthy' } } },
              init: { variables: { CONFORMANCE_MODE: 'oneshot', CONFORMANCE_DELAY_MS: '500' } },
              side: { variables: { CONFORMANCE_MODE: 'idle' } },
            },
          }),
        ]);
        const lines = await collectLogs(env, 'web');
        const stamp = (container: string, prefix: string): number => {
          const line = lines.find((entry) => entry.container === container && entry.line.startsWith(prefix));
          expect(line, `${container} logged "${prefix}…"`).toBeDefined();
          return Number(line?.line.split(' ').at(-1));
        };
        expect(stamp('main', 'boot ')).toBeGreaterThanOrEqual(stamp('init', 'complete '));
        expect(stamp('main', 'boot ')).toBeGreaterThanOrEqual(stamp('side', 'boot '));
        const status = await statusOf(env, 'web');
        expect(status?.containers.find((container) => container.name === 'init')).toMatchObject({
          state: 'completed',
          restarts: 0,
        });
        expect(status).toMatchObject({ ready: true });
      });
    });
  });
}

/** GET through a fresh connection (no keep-alive: an old instance's socket must not be reused). */
export function getJson(address: string, path: string): Promise<Record<string, unknown>> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const call = request({ host, port: Number(port), path, agent: false, timeout: 5000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        try {
          resolve(JSON.parse(body) as Record<string, unknown>);
        } catch {
          resolve({ body });
        }
      });
    });
    call.on('timeout', () => call.destroy(new Error(`GET http://${address}${path} timed out`)));
    call.on('error', reject);
    call.end();
  });
}

/** Retries `check` until it passes or `timeoutMs` is over, then fails with its last error. */
export async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await sleep(200);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
