import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvironmentRef, RenderedContainer, RenderedWorkload, Runtime, RuntimeEvent } from '@paved/core';
import { writeConformanceContext } from '../testing/conformance-server.js';
import { describeRuntime, eventually, getJson } from '../testing/describe-runtime.js';
import { filesHolding } from '../testing/files-holding.js';
import { spawnNodeScript } from './node-script.js';
import {
  ProcessRuntime,
  type ProcessRuntimeOptions,
  type ProcessSecretsRef,
  type ProcessSecretValues,
} from './process-runtime.js';

const READINESS_TIMEOUT_MS = 6000;

/** A data directory (0700, with the uploaded context inside it, as the server keeps it) and a workDir. */
function makeDirs(): { dataDir: string; stateDir: string; workDir: string; context: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'paved-data-'));
  chmodSync(dataDir, 0o700);
  const workDir = mkdtempSync(join(tmpdir(), 'paved-work-'));
  chmodSync(workDir, 0o711);
  const context = writeConformanceContext(join(dataDir, 'contexts', 'conformance'));
  return { dataDir, stateDir: join(dataDir, 'process'), workDir, context };
}

/** Processes whose command line or working directory lies under one of `dirs`: ours, or orphans. */
function processesUnder(dirs: string[]): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/\) [ZX] /.test(stat)) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // Gone meanwhile.
      }
      if (dirs.some((dir) => cmdline.includes(dir) || cwd.startsWith(dir))) found.push(`${pid}: ${cmdline}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

function baseOptions(dirs: ReturnType<typeof makeDirs>): ProcessRuntimeOptions {
  return {
    stateDir: dirs.stateDir,
    workDir: dirs.workDir,
    probeIntervalMs: 200,
    graceMs: 1500,
    readinessTimeoutMs: READINESS_TIMEOUT_MS,
    backoff: { initialMs: 200, maxMs: 2000 },
  };
}

/** Kills every process of the workload's current instance, supervisor first, as a crash would. */
async function killInstance(stateDir: string, env: EnvironmentRef, workload: string): Promise<void> {
  const dir = join(stateDir, env.app, env.env, workload);
  const record = JSON.parse(readFileSync(join(dir, 'workload.json'), 'utf8')) as { instance: string };
  const instance = join(dir, 'instances', record.instance);
  const { supervisor } = JSON.parse(readFileSync(join(instance, 'instance.json'), 'utf8')) as {
    supervisor: { pid: number };
  };
  process.kill(supervisor.pid, 'SIGKILL');
  const state = JSON.parse(readFileSync(join(instance, 'state.json'), 'utf8')) as {
    containers: Record<string, { process?: { pid: number } }>;
  };
  const pids = [supervisor.pid];
  for (const container of Object.values(state.containers)) {
    if (container.process !== undefined) {
      process.kill(-container.process.pid, 'SIGKILL');
      pids.push(container.process.pid);
    }
  }
  // Signals land asynchronously; the crash is only complete once the processes are gone.
  await eventually(async () => {
    for (const pid of pids) expect(isRunning(pid), `pid ${pid} is gone`).toBe(false);
  }, 5000);
}

function isRunning(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

let conformanceDirs: ReturnType<typeof makeDirs>;
describeRuntime(
  'process',
  async () => {
    conformanceDirs = makeDirs();
    let runtime: Runtime = new ProcessRuntime(baseOptions(conformanceDirs));
    await runtime.init?.();
    return {
      get runtime() {
        return runtime;
      },
      container: () => ({
        image: '.',
        context: { dir: conformanceDirs.context, hash: 'conformance' },
        command: ['node', 'server.mjs'],
      }),
      restart: async ({ env, kill }) => {
        await runtime.close?.();
        // Let the supervisors notice nothing: the processes die while no runtime object exists.
        for (const workload of kill) await killInstance(conformanceDirs.stateDir, env, workload);
        runtime = new ProcessRuntime(baseOptions(conformanceDirs));
        await runtime.init?.();
        return runtime;
      },
      cleanup: async () => {
        await runtime.close?.();
        await eventually(async () => {
          expect(processesUnder([conformanceDirs.dataDir, conformanceDirs.workDir])).toEqual([]);
        }, 5000);
        rmSync(conformanceDirs.dataDir, { recursive: true, force: true });
        rmSync(conformanceDirs.workDir, { recursive: true, force: true });
      },
    };
  },
  { readinessTimeoutMs: READINESS_TIMEOUT_MS },
);

describe('ProcessRuntime (process target specifics)', () => {
  let dirs: ReturnType<typeof makeDirs>;
  let runtime: ProcessRuntime;
  let counter = 0;
  const nextEnv = (): EnvironmentRef => ({ app: 'specifics', env: `s${(counter += 1)}` });

  const container = (
    variables: Record<string, string> = {},
    extra: Partial<RenderedContainer> = {},
  ): RenderedContainer => ({
    image: '.',
    context: { dir: dirs.context, hash: 'conformance' },
    command: ['node', 'server.mjs'],
    variables,
    secretVariables: [],
    files: [],
    volumes: [],
    before: {},
    ...extra,
  });
  const workload = (
    name: string,
    containers: Record<string, RenderedContainer>,
    ports = true,
  ): RenderedWorkload => ({
    name,
    deployment: 1,
    specHash: JSON.stringify(containers),
    containers,
    ports: ports ? { http: { port: 80, targetPort: 8080, protocol: 'TCP' } } : {},
  });
  const deploy = async (env: EnvironmentRef, workloads: RenderedWorkload[], on: ProcessRuntime = runtime) =>
    on.apply(await on.plan(env, workloads), () => undefined, new AbortController().signal);
  const lines = async (env: EnvironmentRef, name: string): Promise<string[]> => {
    const out: string[] = [];
    for await (const line of runtime.logs(env, name, {})) out.push(line.line);
    return out;
  };

  beforeAll(async () => {
    dirs = makeDirs();
    runtime = new ProcessRuntime(baseOptions(dirs));
    await runtime.init();
  });
  afterAll(async () => {
    await runtime.close();
    await eventually(async () => expect(processesUnder([dirs.dataDir, dirs.workDir])).toEqual([]), 5000);
    rmSync(dirs.dataDir, { recursive: true, force: true });
    rmSync(dirs.workDir, { recursive: true, force: true });
  });

  // Dropping to another user needs root: a developer running the suite unprivileged cannot test
  // it, so it is skipped there. CI and the setup script run as root, where it always runs.
  it.skipIf(process.getuid?.() !== 0)(
    'runs workloads as nobody when root, unable to read the data directory',
    async () => {
      const env = nextEnv();
      const secret = join(dirs.dataDir, 'master.key');
      writeFileSync(secret, 'top secret', { mode: 0o600 });
      try {
        expect(runtime.runAs).toBeDefined();
        const result = await deploy(env, [
          workload('web', { main: container({ CONFORMANCE_READ_FILE: secret }) }),
        ]);
        expect(result.workloads[0]).toMatchObject({ ok: true });
        const address = (await runtime.status(env))[0]?.ports[0]?.address ?? '';
        expect(await getJson(address, '/')).toMatchObject({ uid: runtime.runAs?.uid });
        const logged = await lines(env, 'web');
        expect(logged).toContain('read-file failed EACCES');
        expect(logged).not.toContain('read-file ok');
        // The state directory holds secret variables: the server's alone.
        expect(statSync(dirs.stateDir).mode & 0o077).toBe(0);
      } finally {
        await runtime.destroy(env);
      }
    },
  );

  it('refuses a registry image at plan time, naming a target that runs it', async () => {
    const web = workload('web', { main: container({}, { image: 'nginx:1', context: undefined }) });
    await expect(runtime.plan(nextEnv(), [web])).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('workload "web" container "main" uses image "nginx:1"') as unknown,
    });
    await expect(runtime.plan(nextEnv(), [web])).rejects.toThrow(/such as "docker"/);
  });

  it('refuses a container without a command at plan time', async () => {
    const web = workload('web', { main: container({}, { command: undefined }) });
    await expect(runtime.plan(nextEnv(), [web])).rejects.toThrow(
      /workload "web" container "main" has no command/,
    );
  });

  it('sets PORT and PORT_<NAME>, writes files under PAVED_ROOT and keeps volumes per environment', async () => {
    const env = nextEnv();
    const script = `
      import { readFileSync, writeFileSync, existsSync } from 'node:fs';
      import { createServer } from 'node:http';
      const note = readFileSync(process.env.PAVED_ROOT + '/etc/app/note.txt', 'utf8');
      const relative = readFileSync('conf/relative.txt', 'utf8');
      const seen = existsSync('/data-never-here') ? 'bad' : 'ok';
      const previous = existsSync(process.env.PAVED_ROOT + '/data/count') ? readFileSync(process.env.PAVED_ROOT + '/data/count', 'utf8') : '0';
      writeFileSync(process.env.PAVED_ROOT + '/data/count', String(Number(previous) + 1));
      createServer((q, r) => r.end(JSON.stringify({ note, relative, seen, previous, port: process.env.PORT, admin: process.env.PORT_ADMIN }))).listen(Number(process.env.PORT));
    `;
    const main = container(
      {},
      {
        command: ['node', '--input-type=module', '-e', script],
        files: [
          { target: '/etc/app/note.txt', content: 'absolute' },
          { target: 'conf/relative.txt', content: new TextEncoder().encode('relative'), mode: '0600' },
        ],
        volumes: [{ source: 'paved_vol_data', target: '/data', readOnly: false }],
      },
    );
    const web: RenderedWorkload = {
      ...workload('web', { main }),
      ports: {
        http: { port: 80, targetPort: 8080, protocol: 'TCP' },
        admin: { port: 9000, targetPort: 9000, protocol: 'TCP' },
      },
    };
    try {
      expect((await deploy(env, [web])).workloads[0]).toMatchObject({ ok: true });
      const status = (await runtime.status(env))[0];
      const body = await getJson(status?.ports.find((port) => port.name === 'http')?.address ?? '', '/');
      expect(body).toMatchObject({ note: 'absolute', relative: 'relative', seen: 'ok', previous: '0' });
      expect(body.port).toMatch(/^\d+$/);
      expect(body.admin).toMatch(/^\d+$/);
      expect(body.admin).not.toBe(body.port);
      // A new instance sees the same volume.
      expect(
        (await deploy(env, [{ ...web, specHash: 'changed', deployment: 2 }])).workloads[0],
      ).toMatchObject({ ok: true });
      const again = await getJson((await runtime.status(env))[0]?.ports[0]?.address ?? '', '/');
      expect(again).toMatchObject({ previous: '1' });
    } finally {
      await runtime.destroy(env);
    }
    expect(existsSync(join(dirs.workDir, env.app, env.env, 'volumes', 'paved_vol_data'))).toBe(true);
    await runtime.destroy(env, { deleteData: true });
    expect(existsSync(join(dirs.workDir, env.app, env.env))).toBe(false);
  });

  it('keeps each container log within the size bound', async () => {
    const env = nextEnv();
    const limit = 64 * 1024;
    const small = new ProcessRuntime({ ...baseOptions(dirs), logLimitBytes: limit });
    try {
      const result = await deploy(
        env,
        [workload('web', { main: container({ CONFORMANCE_LOG_BYTES: String(limit * 8) }) })],
        small,
      );
      expect(result.workloads[0]).toMatchObject({ ok: true });
      await eventually(async () => expect(await lines(env, 'web')).toContain('log-bytes done'));
      const logDir = join(dirs.stateDir, env.app, env.env, 'web', 'instances');
      const [instance] = readdirSync(logDir);
      const files = readdirSync(join(logDir, instance ?? '', 'logs'));
      const total = files.reduce(
        (sum, file) => sum + statSync(join(logDir, instance ?? '', 'logs', file)).size,
        0,
      );
      expect(files.sort()).toEqual(['main.log', 'main.log.1']);
      expect(total).toBeLessThanOrEqual(limit);
    } finally {
      await small.destroy(env);
      await small.close();
    }
  });

  it('stops with SIGTERM, then SIGKILL after the grace period', async () => {
    const env = nextEnv();
    try {
      await deploy(env, [
        workload('polite', { main: container() }),
        workload('stubborn', { main: container({ CONFORMANCE_IGNORE_SIGTERM: '1' }) }),
      ]);
      const pids = Object.fromEntries(
        await Promise.all(
          ['polite', 'stubborn'].map(async (name) => {
            const address =
              (await runtime.status(env)).find((status) => status.name === name)?.ports[0]?.address ?? '';
            return [name, (await getJson(address, '/')).pid as number] as const;
          }),
        ),
      );
      const started = Date.now();
      await deploy(env, [workload('polite', { main: container() })]); // deletes "stubborn"
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
      expect(() => process.kill(pids.stubborn ?? 0, 0)).toThrow();
      const politeStart = Date.now();
      await deploy(env, []);
      expect(Date.now() - politeStart).toBeLessThan(1400);
      expect(() => process.kill(pids.polite ?? 0, 0)).toThrow();
    } finally {
      await runtime.destroy(env);
    }
  });

  it('after a restart, restarts a dead instance and leaves processes it did not start alone', async () => {
    const env = nextEnv();
    const stranger = (await import('node:child_process')).spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await deploy(env, [workload('web', { main: container() })]);
      const address = (await runtime.status(env))[0]?.ports[0]?.address ?? '';
      const before = await getJson(address, '/');
      // The recorded supervisor pid now names a stranger: a reused pid must not be mistaken for it.
      await killInstance(dirs.stateDir, env, 'web');
      const record = join(dirs.stateDir, env.app, env.env, 'web');
      const { instance } = JSON.parse(readFileSync(join(record, 'workload.json'), 'utf8')) as {
        instance: string;
      };
      const instanceFile = join(record, 'instances', instance, 'instance.json');
      const saved = JSON.parse(readFileSync(instanceFile, 'utf8')) as {
        supervisor: { pid: number; startTime: string };
      };
      writeFileSync(
        instanceFile,
        JSON.stringify({
          ...saved,
          supervisor: { pid: stranger.pid, startTime: saved.supervisor.startTime },
        }),
      );
      const restarted = new ProcessRuntime(baseOptions(dirs));
      await restarted.init();
      await restarted.close();
      expect(stranger.exitCode).toBeNull();
      expect(() => process.kill(stranger.pid ?? 0, 0)).not.toThrow();
      await eventually(async () => expect((await getJson(address, '/')).boot).not.toBe(before.boot), 15_000);
    } finally {
      stranger.kill('SIGKILL');
      await runtime.destroy(env);
    }
  });

  it('reports restarts seen outside apply() through onEvent', async () => {
    const env = nextEnv();
    const seen: RuntimeEvent[] = [];
    const watching = new ProcessRuntime({ ...baseOptions(dirs), onEvent: (event) => seen.push(event) });
    try {
      await deploy(env, [workload('web', { main: container() })]);
      await watching.init();
      const address = (await runtime.status(env))[0]?.ports[0]?.address ?? '';
      await getJson(address, '/crash').catch(() => undefined);
      await eventually(async () => {
        expect(seen).toContainEqual(
          expect.objectContaining({ type: 'container.restarted', workload: 'web', container: 'main' }),
        );
      });
    } finally {
      await watching.close();
      await runtime.destroy(env);
    }
  });

  it('refuses a workDir inside the data directory', () => {
    expect(
      () =>
        new ProcessRuntime({ stateDir: join(dirs.dataDir, 'process'), workDir: join(dirs.dataDir, 'work') }),
    ).toThrow(/inside the data directory/);
  });
});

describe('ProcessRuntime release phase', () => {
  let dirs: ReturnType<typeof makeDirs>;
  let runtime: ProcessRuntime;
  const env: EnvironmentRef = { app: 'release', env: 'phase' };

  beforeAll(() => {
    dirs = makeDirs();
  });
  afterAll(async () => {
    await runtime.destroy(env, { deleteData: true });
    await runtime.close();
    await eventually(async () => expect(processesUnder([dirs.dataDir, dirs.workDir])).toEqual([]), 5000);
    rmSync(dirs.dataDir, { recursive: true, force: true });
    rmSync(dirs.workDir, { recursive: true, force: true });
  });

  it('does not run a completed release-phase container again when its supervisor is started again', async () => {
    runtime = new ProcessRuntime(baseOptions(dirs));
    await runtime.init();
    const base = {
      image: '.',
      context: { dir: dirs.context, hash: 'conformance' },
      variables: {},
      secretVariables: [],
      files: [],
      volumes: [{ source: 'data', target: '/data', readOnly: false }],
    };
    const containers: Record<string, RenderedContainer> = {
      migrate: { ...base, command: ['sh', '-c', 'echo ran >> "$PAVED_ROOT/data/runs"'], before: {} },
      main: { ...base, command: ['node', 'server.mjs'], before: { migrate: { ready: 'complete' } } },
    };
    const workload: RenderedWorkload = {
      name: 'web',
      deployment: 1,
      specHash: 'release-phase',
      containers,
      ports: { http: { port: 80, targetPort: 8080, protocol: 'TCP' } },
    };
    const result = await runtime.apply(
      await runtime.plan(env, [workload]),
      () => undefined,
      new AbortController().signal,
    );
    expect(result.workloads[0]).toMatchObject({ ok: true });
    const runs = join(dirs.workDir, env.app, env.env, 'volumes', 'data', 'runs');
    expect(readFileSync(runs, 'utf8')).toBe('ran\n');

    // The supervisor dies with the server; the next server starts it again.
    await runtime.close();
    await killInstance(dirs.stateDir, env, 'web');
    runtime = new ProcessRuntime(baseOptions(dirs));
    await runtime.init();
    // Ready as the new supervisor reports it (state.json still holds the dead one's report first).
    const dir = join(dirs.stateDir, env.app, env.env, 'web');
    const { instance } = JSON.parse(readFileSync(join(dir, 'workload.json'), 'utf8')) as { instance: string };
    await eventually(async () => {
      const read = (file: string): unknown =>
        JSON.parse(readFileSync(join(dir, 'instances', instance, file), 'utf8'));
      const { supervisor } = read('instance.json') as { supervisor: { pid: number } };
      const state = read('state.json') as { supervisor: { pid: number }; ready: boolean };
      expect(state.supervisor.pid).toBe(supervisor.pid);
      expect(state.ready).toBe(true);
      const [status] = await runtime.status(env);
      expect(status?.containers.find((container) => container.name === 'migrate')).toMatchObject({
        state: 'completed',
        exitCode: 0,
      });
    }, 15_000);
    expect(readFileSync(runs, 'utf8')).toBe('ran\n');
  }, 60_000);
});

describe('ProcessRuntime secrets at rest', () => {
  // Random per run, so a hit can only come from this test's workload.
  const SECRET = `canary-${randomBytes(12).toString('hex')}`;
  // A secret in the command line (`${resources.db.password}` in `args`): kept off the disk too.
  const SECRET_ARG = `canary-arg-${randomBytes(12).toString('hex')}`;
  const env: EnvironmentRef = { app: 'secrets', env: 'at-rest' };
  let dirs: ReturnType<typeof makeDirs>;
  const runtimes: ProcessRuntime[] = [];
  const workload = (): RenderedWorkload => ({
    name: 'web',
    deployment: 4,
    specHash: 'secrets-at-rest',
    containers: {
      main: {
        image: '.',
        context: { dir: dirs.context, hash: 'conformance' },
        command: ['node', 'server.mjs'],
        args: ['--password', SECRET_ARG, '--plain'],
        secretArguments: ['args.1'],
        // The conformance server answers `/` with CONFORMANCE_VERSION and its own arguments.
        variables: { CONFORMANCE_VERSION: SECRET, PLAIN: 'visible' },
        secretVariables: ['CONFORMANCE_VERSION'],
        files: [],
        volumes: [],
        before: {},
        // An exec probe runs with the container's environment: it must get the secret too.
        readinessProbe: {
          exec: {
            command: [
              'node',
              '-e',
              "if (!process.env.CONFORMANCE_VERSION) process.exit(1); require('node:net').connect(Number(process.env.PORT), '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1));",
            ],
          },
        },
      },
    },
    ports: { http: { port: 80, targetPort: 8080, protocol: 'TCP' } },
  });
  const asked: ProcessSecretsRef[] = [];
  const secretsOf = async (ref: ProcessSecretsRef): Promise<ProcessSecretValues | undefined> => {
    asked.push(ref);
    const rendered = workload();
    if (ref.workload !== rendered.name || ref.specHash !== rendered.specHash) return undefined;
    return Object.fromEntries(
      Object.entries(rendered.containers).map(([name, container]) => [
        name,
        {
          variables: Object.fromEntries(
            container.secretVariables.map((key) => [key, container.variables[key] ?? '']),
          ),
          arguments: { '3': container.args?.[1] ?? '' },
        },
      ]),
    );
  };
  const make = (options: Partial<ProcessRuntimeOptions> = {}): ProcessRuntime => {
    const made = new ProcessRuntime({ ...baseOptions(dirs), ...options });
    runtimes.push(made);
    return made;
  };
  /** Every regular file under the directories whose bytes contain the secret. */
  const filesHoldingSecret = (): string[] => [
    ...filesHolding(dirs.dataDir, [SECRET, SECRET_ARG]),
    ...filesHolding(dirs.workDir, [SECRET, SECRET_ARG]),
  ];
  const address = async (on: ProcessRuntime): Promise<string> =>
    (await on.status(env))[0]?.ports[0]?.address ?? '';

  beforeAll(() => {
    dirs = makeDirs();
  });
  afterAll(async () => {
    await runtimes[0]?.destroy(env);
    for (const made of runtimes) await made.close();
    await eventually(async () => expect(processesUnder([dirs.dataDir, dirs.workDir])).toEqual([]), 5000);
    rmSync(dirs.dataDir, { recursive: true, force: true });
    rmSync(dirs.workDir, { recursive: true, force: true });
  });

  it('keeps secret values off the disk, hands them to the workload, and again after a respawn', async () => {
    const first = make({ secretsOf });
    await first.init();
    const result = await first.apply(
      await first.plan(env, [workload()]),
      () => undefined,
      new AbortController().signal,
    );
    expect(result.workloads[0]).toMatchObject({ ok: true });
    const served = await address(first);
    expect(await getJson(served, '/')).toMatchObject({
      version: SECRET,
      argv: ['--password', SECRET_ARG, '--plain'],
    });
    expect(filesHoldingSecret()).toEqual([]);

    // A crashed container is started again by the supervisor from the values in its memory.
    const beforeCrash = await getJson(served, '/');
    await getJson(served, '/crash').catch(() => undefined);
    await eventually(async () => {
      const after = await getJson(served, '/');
      expect(after.boot).not.toBe(beforeCrash.boot);
      expect(after).toMatchObject({ version: SECRET, argv: ['--password', SECRET_ARG, '--plain'] });
    }, 15_000);

    // The supervisor dies with the server; the next server gets the values from secretsOf.
    await first.close();
    await killInstance(dirs.stateDir, env, 'web');
    const second = make({ secretsOf });
    await second.init();
    expect(asked).toEqual([
      { app: env.app, env: env.env, deployment: 4, workload: 'web', specHash: 'secrets-at-rest' },
    ]);
    await eventually(async () => {
      const [status] = await second.status(env);
      expect(status).toMatchObject({ state: 'ready' });
      expect(await getJson(served, '/')).toMatchObject({
        version: SECRET,
        argv: ['--password', SECRET_ARG, '--plain'],
      });
    }, 15_000);
    expect(filesHoldingSecret()).toEqual([]);
    // The supervisor's own note of each start shows where the secret argument was.
    const lines: string[] = [];
    for await (const line of second.logs(env, 'web', {})) lines.push(line.line);
    expect(lines.filter((line) => line.includes('started node server.mjs'))).toEqual(
      expect.arrayContaining([
        expect.stringContaining('started node server.mjs --password (secret) --plain'),
      ]),
    );
  }, 60_000);

  it('reports the workload failed, not started without its secrets, when they cannot be had', async () => {
    await runtimes.at(-1)?.close();
    await killInstance(dirs.stateDir, env, 'web');
    const events: RuntimeEvent[] = [];
    const blind = make({ onEvent: (event) => events.push(event) });
    await blind.init();
    const [status] = await blind.status(env);
    expect(status).toMatchObject({ state: 'failed', ready: false });
    expect(status?.message).toMatch(/not kept on disk, so deploy again/);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'workload.failed', level: 'error', workload: 'web' }),
    );
    // The forwarder keeps the host port; neither supervisor nor container runs.
    const running = (): string[] =>
      processesUnder([dirs.dataDir, dirs.workDir]).filter((line) => !line.includes('forwarder'));
    expect(running()).toEqual([]);
    // An answer without the values is no better than none.
    const empty = make({ secretsOf: async () => ({ main: { variables: {} } }) });
    await empty.init();
    expect((await empty.status(env))[0]?.message).toMatch(/main\.CONFORMANCE_VERSION were not found/);
    expect(running()).toEqual([]);

    // Deploying again hands the values over at spawn: no callback needed.
    const plan = await blind.plan(env, [workload()]);
    expect(plan.items[0]).toMatchObject({ action: 'update', reason: 'not running' });
    const result = await blind.apply(plan, () => undefined, new AbortController().signal);
    expect(result.workloads[0]).toMatchObject({ ok: true });
    expect((await getJson(await address(blind), '/')).version).toBe(SECRET);
    expect(filesHoldingSecret()).toEqual([]);
  }, 60_000);

  it('a supervisor started without the values fails its containers instead of starting them', async () => {
    const dir = join(dirs.stateDir, env.app, env.env, 'web');
    const { instance } = JSON.parse(readFileSync(join(dir, 'workload.json'), 'utf8')) as { instance: string };
    const stateDir = join(dir, 'instances', instance);
    await runtimes.at(-1)?.close();
    await killInstance(dirs.stateDir, env, 'web');
    const supervisor = spawnNodeScript(
      'supervisor',
      join(stateDir, 'spec.json'),
      join(stateDir, 'supervisor.log'),
      stateDir,
      JSON.stringify({ containers: {} }),
    );
    try {
      await eventually(async () => {
        const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as {
          supervisor: { pid: number };
          containers: Record<string, { state: string; message?: string; process?: unknown }>;
        };
        expect(state.supervisor.pid).toBe(supervisor.pid);
        expect(state.containers.main).toMatchObject({ state: 'failed' });
        expect(state.containers.main?.message).toMatch(/main\.CONFORMANCE_VERSION.*deploy again/);
        expect(state.containers.main?.process).toBeUndefined();
      }, 10_000);
    } finally {
      process.kill(supervisor.pid, 'SIGTERM');
      await eventually(async () => expect(isRunning(supervisor.pid)).toBe(false), 10_000);
    }
  }, 30_000);
});
