import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvironmentRef, RenderedContainer, RenderedWorkload, Runtime, RuntimeEvent } from '@paved/core';
import { describeRuntime, eventually, getJson } from '../testing/describe-runtime.js';
import { LABEL } from './docker-labels.js';
import { DockerRuntime, type DockerRuntimeOptions } from './docker-runtime.js';
import { LogDemuxer } from './log-demux.js';
import { forwarderProcesses } from './testing/forwarder-processes.js';
import {
  BUSYBOX_IMAGE,
  contextHash,
  killWorkload,
  NODE_IMAGE,
  ownedObjects,
  TEST_DOCKER_HOST,
  testDocker,
  uniqueTargetName,
  writeConformanceImageContext,
} from './testing/test-engine.js';

const READINESS_TIMEOUT_MS = 8000;
const docker = testDocker();
/** The forwarders' files of every target of this file; each target has its own folder in it. */
const stateRoot = mkdtempSync(join(tmpdir(), 'paved-docker-state-'));
afterAll(() => rmSync(stateRoot, { recursive: true, force: true }));

function options(name: string): DockerRuntimeOptions {
  return {
    name,
    stateDir: join(stateRoot, name),
    host: TEST_DOCKER_HOST,
    readinessTimeoutMs: READINESS_TIMEOUT_MS,
    probeIntervalMs: 250,
    graceMs: 2000,
  };
}

const conformanceTarget = uniqueTargetName('conformance');
const conformanceApp = uniqueTargetName('conf');
let contextDir: string;
describeRuntime(
  'docker',
  async () => {
    contextDir = mkdtempSync(join(tmpdir(), 'paved-docker-context-'));
    const context = writeConformanceImageContext(contextDir);
    let runtime: Runtime = new DockerRuntime(options(conformanceTarget));
    await runtime.init?.();
    return {
      get runtime() {
        return runtime;
      },
      container: () => ({ image: '.', context }),
      restart: async ({ env, kill }) => {
        await runtime.close?.();
        // The containers die while no runtime object exists, as in a crash while the server is down.
        for (const workload of kill)
          await killWorkload(docker, conformanceTarget, env.app, env.env, workload);
        runtime = new DockerRuntime(options(conformanceTarget));
        await runtime.init?.();
        return runtime;
      },
      cleanup: async () => {
        await runtime.close?.();
        rmSync(contextDir, { recursive: true, force: true });
        // Every environment was destroyed: nothing of the target's is left on the engine, and no
        // port forwarder is left running.
        expect(await ownedObjects(docker, conformanceTarget)).toEqual({
          containers: [],
          networks: [],
          volumes: [],
          images: [],
        });
        expect(forwarderProcesses(join(stateRoot, conformanceTarget))).toEqual([]);
      },
    };
  },
  { readinessTimeoutMs: READINESS_TIMEOUT_MS, app: conformanceApp },
);

describe('DockerRuntime (docker target specifics)', () => {
  const target = uniqueTargetName('specifics');
  const app = uniqueTargetName('spec');
  let runtime: DockerRuntime;
  let context: { dir: string; hash: string };
  let counter = 0;
  const nextEnv = (): EnvironmentRef => ({ app, env: `s${(counter += 1)}` });
  const foreign: string[] = [];

  const container = (
    variables: Record<string, string> = {},
    extra: Partial<RenderedContainer> = {},
  ): RenderedContainer => ({
    image: '.',
    context,
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
    extra: Partial<RenderedWorkload> = {},
  ): RenderedWorkload => ({
    name,
    deployment: 1,
    specHash: JSON.stringify({ containers, ports: extra.ports }),
    containers,
    ports: { http: { port: 80, targetPort: 8080, protocol: 'TCP' } },
    ...extra,
  });
  const deploy = async (
    env: EnvironmentRef,
    workloads: RenderedWorkload[],
    events: RuntimeEvent[] = [],
    on: DockerRuntime = runtime,
  ) => on.apply(await on.plan(env, workloads), (event) => events.push(event), new AbortController().signal);
  const addressOf = async (env: EnvironmentRef, name: string): Promise<string> =>
    (await runtime.status(env)).find((status) => status.name === name)?.ports[0]?.address ?? '';
  /** The engine's containers of a workload's current instance, by Score container name. */
  const engineContainers = async (
    env: EnvironmentRef,
    name: string,
  ): Promise<Map<string, Docker.ContainerInspectInfo>> => {
    const list = await docker.listContainers({
      all: true,
      filters: {
        label: [
          `${LABEL.target}=${target}`,
          `${LABEL.app}=${env.app}`,
          `${LABEL.env}=${env.env}`,
          `${LABEL.workload}=${name}`,
        ],
      },
    });
    const found = new Map<string, Docker.ContainerInspectInfo>();
    for (const info of list) {
      const inspect = await docker.getContainer(info.Id).inspect();
      found.set(
        info.Labels[LABEL.role] === 'sandbox' ? '(sandbox)' : (info.Labels[LABEL.container] ?? ''),
        inspect,
      );
    }
    return found;
  };
  /** Runs a shell command in a container through the engine; returns its output and exit code. */
  const execIn = async (id: string, command: string): Promise<{ output: string; code: number }> => {
    const exec = await docker
      .getContainer(id)
      .exec({ Cmd: ['sh', '-c', command], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({});
    const chunks: Buffer[] = [];
    await new Promise((resolve) =>
      stream.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', resolve),
    );
    const demux = new LogDemuxer('exec');
    const lines = [...demux.push(Buffer.concat(chunks)), ...demux.end()];
    return { output: lines.map((line) => line.line).join('\n'), code: (await exec.inspect()).ExitCode ?? -1 };
  };

  let specificsDir: string;

  beforeAll(async () => {
    specificsDir = mkdtempSync(join(tmpdir(), 'paved-docker-specifics-'));
    context = writeConformanceImageContext(specificsDir);
    runtime = new DockerRuntime(options(target));
    await runtime.init();
  });
  afterAll(async () => {
    await runtime.close();
    rmSync(specificsDir, { recursive: true, force: true });
    for (const name of foreign)
      await docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
    await docker
      .getNetwork(`paved-${app}-foreign`)
      .remove()
      .catch(() => undefined);
    expect(await ownedObjects(docker, target)).toEqual({
      containers: [],
      networks: [],
      volumes: [],
      images: [],
    });
    expect(forwarderProcesses(join(stateRoot, target))).toEqual([]);
  });

  it('runs a workload as a pod: one network with DNS by workload name, one network namespace per workload', async () => {
    const env = nextEnv();
    try {
      const result = await deploy(env, [
        workload('api', { main: container({ CONFORMANCE_VERSION: 'api' }) }),
        workload('web', {
          main: container({ CONFORMANCE_VERSION: 'web' }),
          side: container({ CONFORMANCE_MODE: 'idle' }),
        }),
      ]);
      expect(result.workloads.every((outcome) => outcome.ok)).toBe(true);
      const web = await engineContainers(env, 'web');
      const side = web.get('side');
      const sandbox = web.get('(sandbox)');
      expect(Object.keys(sandbox?.NetworkSettings.Networks ?? {})).toEqual([`paved-${env.app}-${env.env}`]);
      expect(side?.HostConfig.NetworkMode).toBe(`container:${sandbox?.Id}`);
      expect(web.get('main')?.HostConfig.NetworkMode).toBe(`container:${sandbox?.Id}`);
      // The side container reaches main on localhost (shared namespace) and api by its name (DNS),
      // which is api's service address: on the declared port (80) and on the container's (8080).
      expect((await execIn(side?.Id ?? '', 'wget -qO- http://127.0.0.1:8080/')).output).toContain(
        '"version":"web"',
      );
      for (const port of [80, 8080]) {
        expect((await execIn(side?.Id ?? '', `wget -qO- http://api:${port}/`)).output).toContain(
          '"version":"api"',
        );
      }
      const apiAddress = await docker.getContainer(`paved-${env.app}-${env.env}-api-address`).inspect();
      expect(apiAddress.Config.Labels).toMatchObject({
        [LABEL.role]: 'service-address',
        [LABEL.addressOf]: 'api',
      });
      expect(apiAddress.NetworkSettings.Networks[`paved-${env.app}-${env.env}`]?.Aliases).toContain('api');
      // The instance itself holds no alias: the name never resolves to an old instance.
      const apiMain = (await engineContainers(env, 'api')).get('main');
      expect(apiMain?.NetworkSettings.Networks[`paved-${env.app}-${env.env}`]?.Aliases ?? []).not.toContain(
        'api',
      );
      // Ports are published on 127.0.0.1 only.
      const api = (await engineContainers(env, 'api')).get('main');
      expect(api?.HostConfig.PortBindings).toEqual({
        '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: expect.stringMatching(/^\d+$/) }],
      });
      expect(api?.HostConfig.Init).toBe(true);
      expect(api?.Config.Labels).toMatchObject({
        [LABEL.target]: target,
        [LABEL.app]: env.app,
        [LABEL.env]: env.env,
        [LABEL.workload]: 'api',
        [LABEL.container]: 'main',
        [LABEL.deployment]: '1',
        [LABEL.specHash]: expect.any(String),
      });
      const network = await docker.getNetwork(`paved-${env.app}-${env.env}`).inspect();
      expect(network.Labels).toMatchObject({
        [LABEL.target]: target,
        [LABEL.app]: env.app,
        [LABEL.env]: env.env,
      });
    } finally {
      await runtime.destroy(env);
    }
  });

  it('records the image of every container: the built image ID for image "." and the build output as events', async () => {
    const env = nextEnv();
    try {
      const events: RuntimeEvent[] = [];
      const result = await deploy(env, [workload('web', { main: container() })], events);
      const image = result.workloads[0]?.images?.[0];
      expect(image).toMatchObject({
        container: 'main',
        reference: expect.stringMatching(new RegExp(`^paved/${env.app}-${env.env}-web-main:[0-9a-f]{16}$`)),
      });
      const inspected = await docker.getImage(image?.reference ?? '').inspect();
      expect(image?.digest).toBe(inspected.Id);
      expect(image?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const build = events.filter((event) => event.type === 'build.output').map((event) => event.message);
      expect(build.some((line) => line.includes('COPY server.mjs'))).toBe(true);
      // An unchanged workload reports the same image from its labels.
      const again = await deploy(env, [workload('web', { main: container() }, { deployment: 2 })]);
      expect(again.workloads[0]).toMatchObject({ action: 'unchanged', images: [image] });
    } finally {
      await runtime.destroy(env);
    }
  });

  it('puts files into the container (secret ones 0600), mounts named volumes kept across instances, applies limits', async () => {
    const env = nextEnv();
    const volume = `paved-${env.app}-${env.env}-data`;
    const main = container(
      {},
      {
        files: [
          { target: '/etc/app/config.txt', content: 'plain', mode: '0644' },
          { target: 'conf/secret.txt', content: 's3cret', mode: '0644', secret: true },
          { target: '/etc/app/blob.bin', content: new Uint8Array([0, 1, 2, 255]) },
        ],
        volumes: [{ source: volume, target: '/data', readOnly: false }],
        limits: { memory: '256Mi', cpu: '500m' },
      },
    );
    try {
      expect((await deploy(env, [workload('web', { main })])).workloads[0]).toMatchObject({ ok: true });
      let current = (await engineContainers(env, 'web')).get('main');
      expect(current?.HostConfig.Memory).toBe(256 * 1024 * 1024);
      expect(current?.HostConfig.NanoCpus).toBe(500_000_000);
      expect((await execIn(current?.Id ?? '', 'cat /etc/app/config.txt')).output).toBe('plain');
      expect(
        (await execIn(current?.Id ?? '', 'stat -c %a /app/conf/secret.txt; cat /app/conf/secret.txt')).output,
      ).toBe('600\ns3cret');
      expect(
        (await execIn(current?.Id ?? '', 'od -An -tu1 /etc/app/blob.bin')).output.trim().split(/\s+/),
      ).toEqual(['0', '1', '2', '255']);
      expect((await execIn(current?.Id ?? '', 'echo kept > /data/note')).code).toBe(0);
      const info = await docker.getVolume(volume).inspect();
      expect(info.Labels).toMatchObject({
        [LABEL.target]: target,
        [LABEL.app]: env.app,
        [LABEL.env]: env.env,
      });

      // A new instance mounts the same volume.
      const next = workload(
        'web',
        { main: { ...main, variables: { CONFORMANCE_VERSION: 'v2' } } },
        { deployment: 2 },
      );
      expect((await deploy(env, [next])).workloads[0]).toMatchObject({ ok: true, action: 'update' });
      current = (await engineContainers(env, 'web')).get('main');
      expect((await execIn(current?.Id ?? '', 'cat /data/note')).output).toBe('kept');
    } finally {
      await runtime.destroy(env);
    }
    // Data outlives the environment unless deleteData is asked for.
    expect((await ownedObjects(docker, target)).volumes).toEqual([volume]);
    await runtime.destroy(env, { deleteData: true });
    expect((await ownedObjects(docker, target)).volumes).toEqual([]);
  });

  it('serves a platform-assigned host port through its forwarder; containers never bind a fixed host port', async () => {
    const envs = [nextEnv(), nextEnv()];
    const hostPorts = await Promise.all(envs.map(() => freePort()));
    try {
      for (const [index, env] of envs.entries()) {
        const web = workload('web', { main: container({ CONFORMANCE_VERSION: env.env }) });
        const result = await deploy(env, [
          {
            ...web,
            ports: { http: { port: 80, targetPort: 8080, protocol: 'TCP', hostPort: hostPorts[index] } },
          },
        ]);
        expect(result.workloads[0]).toMatchObject({ ok: true });
      }
      for (const [index, env] of envs.entries()) {
        expect(await addressOf(env, 'web')).toBe(`127.0.0.1:${hostPorts[index]}`);
        expect(await getJson(`127.0.0.1:${hostPorts[index]}`, '/')).toMatchObject({ version: env.env });
        // The container itself publishes on a random port of 127.0.0.1, never the platform's one.
        const [binding] =
          (await engineContainers(env, 'web')).get('main')?.HostConfig.PortBindings?.['8080/tcp'] ?? [];
        expect(binding?.HostIp).toBe('127.0.0.1');
        expect(hostPorts).not.toContain(Number(binding?.HostPort));
      }
    } finally {
      for (const env of envs) await runtime.destroy(env);
    }
    await expect(getJson(`127.0.0.1:${hostPorts[0]}`, '/')).rejects.toThrow();
  });

  it('runs exec probes inside the container', async () => {
    const env = nextEnv();
    try {
      const good = workload('good', {
        main: container(
          {},
          { readinessProbe: { exec: { command: ['sh', '-c', 'test -f /app/server.mjs'] } } },
        ),
      });
      expect((await deploy(env, [good])).workloads[0]).toMatchObject({ ok: true });
      const bad = workload('bad', {
        main: container({}, { readinessProbe: { exec: { command: ['sh', '-c', 'exit 4'] } } }),
      });
      const failed = (await deploy(env, [good, bad])).workloads.find((outcome) => outcome.workload === 'bad');
      expect(failed).toMatchObject({
        ok: false,
        evidence: { probe: 'exec: sh -c exit 4', lastStatus: 'exit code 4' },
      });
    } finally {
      await runtime.destroy(env);
    }
  });

  it('stops with SIGTERM (delivered through the init process), then SIGKILL after the grace period', async () => {
    const env = nextEnv();
    // No SIGTERM handler: as PID 1 node would ignore SIGTERM; under the init process it dies of it.
    const plain = container(
      {},
      { command: ['node', '-e', "require('http').createServer((q, s) => s.end('plain')).listen(8080)"] },
    );
    try {
      await deploy(env, [
        workload('polite', { main: plain }),
        workload('stubborn', { main: container({ CONFORMANCE_IGNORE_SIGTERM: '1' }) }),
      ]);
      const started = Date.now();
      await deploy(env, [workload('polite', { main: plain })]); // deletes "stubborn"
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      const politeStart = Date.now();
      await deploy(env, []);
      expect(Date.now() - politeStart).toBeLessThan(1900);
    } finally {
      await runtime.destroy(env);
    }
  });

  it('fails clearly, leaving the previous instance serving: build failure, missing recipe, missing image, exit at start', async () => {
    const env = nextEnv();
    const broken = mkdtempSync(join(tmpdir(), 'paved-docker-broken-'));
    const empty = mkdtempSync(join(tmpdir(), 'paved-docker-empty-'));
    try {
      await deploy(env, [workload('web', { main: container({ CONFORMANCE_VERSION: 'good' }) })]);
      const address = await addressOf(env, 'web');
      const good = await getJson(address, '/');

      writeFileSync(join(broken, 'Containerfile'), `FROM ${NODE_IMAGE}\nRUN echo about to fail && exit 7\n`);
      writeFileSync(join(empty, 'README'), 'no recipe here');
      const cases: [string, RenderedContainer, RegExp, RegExp?][] = [
        [
          'build',
          container({}, { context: { dir: broken, hash: contextHash(broken) } }),
          /workload "web" container "main": building the image from its context failed.*exit status 7/,
          /about to fail/,
        ],
        [
          'recipe',
          container({}, { context: { dir: empty, hash: contextHash(empty) } }),
          /workload "web" container "main" uses image "\." but its build context has neither a Containerfile nor a Dockerfile/,
        ],
        [
          'image',
          container({}, { image: 'localhost/paved-does-not-exist:1', context: undefined }),
          /workload "web" container "main": image "localhost\/paved-does-not-exist:1" is not on the engine and registry localhost cannot be reached/,
        ],
        [
          'exit',
          container({}, { command: ['sh', '-c', 'echo bye; exit 5'] }),
          // Three crashes end the wait early; a loaded engine may restart too slowly for that.
          /workload "web" (container "main" crashed 3 times before it was ready|did not become ready within \d+ s: container "main" crashed \d+ times?) \(last exit code 5\)/,
          /bye/,
        ],
      ];
      for (const [what, main, error, evidence] of cases) {
        const events: RuntimeEvent[] = [];
        const result = await deploy(env, [workload('web', { main }, { deployment: 2 })], events);
        expect(result.workloads[0], what).toMatchObject({
          ok: false,
          action: 'update',
          error: expect.stringMatching(error),
        });
        expect(result.workloads[0]?.error, what).toContain('keeps running');
        if (evidence !== undefined)
          expect(
            result.workloads[0]?.evidence?.lastLogLines?.some((line) => evidence.test(line)),
            what,
          ).toBe(true);
        expect(
          events.some((event) => event.type === 'workload.failed'),
          what,
        ).toBe(true);
        expect(await getJson(address, '/'), what).toMatchObject({ version: 'good', boot: good.boot });
        expect((await runtime.status(env))[0], what).toMatchObject({ deployment: 1, ready: true });
        expect([...(await engineContainers(env, 'web')).keys()], what).toEqual(['main']);
      }
    } finally {
      await runtime.destroy(env);
      rmSync(broken, { recursive: true, force: true });
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('never touches what is not its own: a foreign container or network holding a name is a clear error', async () => {
    const env = nextEnv();
    const name = `paved-${env.app}-${env.env}-web-main-1`;
    foreign.push(name);
    const stranger = await docker.createContainer({
      name,
      Image: BUSYBOX_IMAGE,
      Cmd: ['sleep', '600'],
      Labels: { [LABEL.target]: 'someone-else' },
    });
    await stranger.start();
    try {
      const result = await deploy(env, [workload('web', { main: container() })]);
      expect(result.workloads[0]).toMatchObject({
        ok: false,
        error: expect.stringContaining(
          `workload "web": the container name "${name}" is taken by container ${stranger.id.slice(0, 12)}`,
        ),
      });
      expect(await runtime.status(env)).toEqual([]);
      await runtime.destroy(env);
      expect((await stranger.inspect()).State.Running).toBe(true);

      const other: EnvironmentRef = { app: env.app, env: 'foreign' };
      await docker.createNetwork({
        Name: `paved-${other.app}-${other.env}`,
        Labels: { purpose: 'not paved' },
      });
      const blocked = await deploy(other, [workload('web', { main: container() })]);
      expect(blocked.workloads[0]).toMatchObject({
        ok: false,
        error: expect.stringMatching(
          /workload "web": .*network "paved-[^"]+-foreign" .* already exists and does not belong to docker target "[^"]+" \(/,
        ),
      });
      await runtime.destroy(other);
      expect((await docker.getNetwork(`paved-${other.app}-${other.env}`).inspect()).Labels).toEqual({
        purpose: 'not paved',
      });
    } finally {
      await runtime.destroy(env);
    }
  });

  it("leaves another installation's objects alone under the same target name, and adopts those made before installations were labelled", async () => {
    // Two Paved installations (two stores) on one engine, both with a target of this name.
    const shared = uniqueTargetName('shared');
    const mineDir = join(stateRoot, shared, 'a');
    const env = nextEnv();
    const older = nextEnv();
    const legacy = new DockerRuntime({ ...options(shared), stateDir: mineDir });
    let mine: DockerRuntime | undefined;
    const theirs = new DockerRuntime({
      ...options(shared),
      installation: 'installation-b',
      stateDir: join(stateRoot, shared, 'b'),
    });
    try {
      // Made before the label existed (no installation): the upgraded server takes it over.
      expect(
        (await deploy(older, [workload('web', { main: container() })], [], legacy)).workloads[0]?.ok,
      ).toBe(true);
      await legacy.close();
      mine = new DockerRuntime({ ...options(shared), installation: 'installation-a', stateDir: mineDir });
      expect((await mine.status(older)).map((status) => status.name)).toEqual(['web']);
      await mine.destroy(older);

      expect((await deploy(env, [workload('web', { main: container() })], [], mine)).workloads[0]?.ok).toBe(
        true,
      );
      const address = (await mine.status(env))[0]?.ports[0]?.address ?? '';
      const before = await getJson(address, '/');
      const main = await docker.getContainer(`paved-${env.app}-${env.env}-web-main-1`).inspect();
      expect(main.Config.Labels).toMatchObject({
        [LABEL.target]: shared,
        [LABEL.installation]: 'installation-a',
      });

      // The other installation neither sees, adopts nor removes any of it.
      await theirs.init();
      expect(await theirs.status(env)).toEqual([]);
      await theirs.destroy(env, { deleteData: true });
      expect((await mine.status(env))[0]).toMatchObject({ name: 'web', state: 'ready' });
      expect((await getJson(address, '/')).boot).toBe(before.boot);
      expect((await docker.getNetwork(`paved-${env.app}-${env.env}`).inspect()).Labels).toMatchObject({
        [LABEL.installation]: 'installation-a',
      });
    } finally {
      await mine?.destroy(env);
      await mine?.close();
      await theirs.close();
      await legacy.destroy(older).catch(() => undefined);
      await legacy.close();
    }
    expect(await ownedObjects(docker, shared)).toEqual({
      containers: [],
      networks: [],
      volumes: [],
      images: [],
    });
  });

  it('removes a deleted workload and a destroyed environment completely', async () => {
    const env = nextEnv();
    const before = await ownedObjects(docker, target);
    await deploy(env, [
      workload('web', { main: container(), side: container({ CONFORMANCE_MODE: 'idle' }) }),
      workload('api', { main: container() }),
    ]);
    const during = await ownedObjects(docker, target);
    // web: sandbox, main, side and its service address; api: main and its service address.
    expect(during.containers.length).toBe(before.containers.length + 6);
    expect(during.networks).toContain(`paved-${env.app}-${env.env}`);
    await deploy(env, [
      workload('web', { main: container(), side: container({ CONFORMANCE_MODE: 'idle' }) }),
    ]);
    expect((await ownedObjects(docker, target)).containers.some((name) => name.includes('-api-'))).toBe(
      false,
    );
    await runtime.destroy(env);
    expect(await ownedObjects(docker, target)).toEqual(before);
  });

  it('after a restart, brings back a multi-container workload whose sandbox died, and reports restarts through onEvent', async () => {
    const env = nextEnv();
    const seen: RuntimeEvent[] = [];
    let restarted: DockerRuntime | undefined;
    try {
      await deploy(env, [
        workload('web', { main: container(), side: container({ CONFORMANCE_MODE: 'idle' }) }),
      ]);
      const address = await addressOf(env, 'web');
      const before = await getJson(address, '/');
      await runtime.close();
      await killWorkload(docker, target, env.app, env.env, 'web');
      restarted = new DockerRuntime({ ...options(target), onEvent: (event) => seen.push(event) });
      await restarted.init();
      runtime = restarted;
      expect(seen).toContainEqual(expect.objectContaining({ type: 'workload.restarted', workload: 'web' }));
      await eventually(async () => expect((await getJson(address, '/')).boot).not.toBe(before.boot), 15_000);
      const containers = await engineContainers(env, 'web');
      expect([...containers.values()].every((info) => info.State.Running)).toBe(true);
      // The containers joined the new sandbox's namespace: main still answers its neighbour.
      const side = containers.get('side');
      expect((await execIn(side?.Id ?? '', 'wget -qO- http://127.0.0.1:8080/')).output).toContain('"boot"');

      await getJson(address, '/crash').catch(() => undefined);
      await eventually(async () => {
        expect(seen).toContainEqual(
          expect.objectContaining({ type: 'container.restarted', workload: 'web', container: 'main' }),
        );
      }, 15_000);
      await eventually(async () => {
        const main = (await runtime.status(env))[0]?.containers.find((entry) => entry.name === 'main');
        expect(main).toMatchObject({ state: 'running', restarts: 1, exitCode: 3 });
      });
    } finally {
      await runtime.destroy(env);
    }
  });

  it('keeps relaying while no runtime runs, takes the forwarders over after a restart and stops them with the workload', async () => {
    const env = nextEnv();
    const stateDir = join(stateRoot, target);
    try {
      await deploy(env, [workload('web', { main: container() }), workload('api', { main: container() })]);
      const web = await addressOf(env, 'web');
      const api = await addressOf(env, 'api');
      const before = await getJson(web, '/');
      const forwarders = forwarderProcesses(stateDir).sort();
      expect(forwarders.length).toBeGreaterThanOrEqual(2);

      // Server down: the forwarders are processes of their own and go on relaying.
      await runtime.close();
      expect((await getJson(web, '/')).boot).toBe(before.boot);
      expect(forwarderProcesses(stateDir).sort()).toEqual(forwarders);

      // The next runtime takes the running forwarders over instead of starting others.
      runtime = new DockerRuntime(options(target));
      await runtime.init();
      expect(forwarderProcesses(stateDir).sort()).toEqual(forwarders);
      expect(await addressOf(env, 'web')).toBe(web);
      expect((await getJson(web, '/')).boot).toBe(before.boot);

      // A redeploy switches the same forwarder to the new instance.
      await deploy(env, [
        workload('web', { main: container({ CONFORMANCE_VERSION: '2' }) }),
        workload('api', { main: container() }),
      ]);
      await eventually(async () => expect((await getJson(web, '/')).boot).not.toBe(before.boot));
      expect(forwarderProcesses(stateDir).sort()).toEqual(forwarders);

      // Removing a workload stops its forwarder; the other one keeps serving.
      await deploy(env, [workload('web', { main: container({ CONFORMANCE_VERSION: '2' }) })]);
      expect(forwarderProcesses(stateDir).length).toBe(forwarders.length - 1);
      await expect(getJson(api, '/')).rejects.toThrow();
      await getJson(web, '/');
    } finally {
      await runtime.destroy(env);
    }
    expect(forwarderProcesses(stateDir)).toEqual([]);
  });

  it('fails clearly when the engine cannot be reached', async () => {
    const unreachable = new DockerRuntime({
      name: 'nowhere',
      host: 'unix:///run/paved-test/no-such-engine.sock',
    });
    await expect(unreachable.init()).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining(
        'the container engine at unix:///run/paved-test/no-such-engine.sock cannot be reached (ENOENT)',
      ),
    });
    await expect(unreachable.plan({ app: 'a', env: 'b' }, [])).rejects.toThrow(
      /start Docker or `podman system service`/,
    );
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}
