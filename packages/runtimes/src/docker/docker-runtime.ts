/**
 * The `docker` target: runs workloads as containers through the Docker Engine API, which Docker
 * serves and Podman serves too (`podman system service`). Nothing is shelled out.
 *
 * Design (user-facing version: docs/targets/docker.md):
 *
 * - **Workloads as pods.** Each environment gets one network (`paved-<app>-<env>`) with DNS; a
 *   workload is reachable on it by its name (a network alias). The containers of a workload share
 *   one network namespace. With one container, that container owns it; with several, a small
 *   *sandbox* container (`sleep`, never restarted) owns it and the others join it
 *   (`NetworkMode: container:<id>`), so a crash of any workload container never takes the shared
 *   namespace — and the others' network — with it. The Docker API has no pods (Podman's pods are
 *   not in its Docker API), so this is how Kubernetes' pause container does it.
 * - **Instances.** Every create or update starts a new instance (id `<deployment>[-n]`) beside the
 *   old one, waits until it is ready by Paved's own probes, switches the workload's ports to it,
 *   waits until the old one's relayed connections have closed (up to `drainTimeoutMs`), then stops
 *   it (SIGTERM, SIGKILL after `graceMs`). A failure leaves the old one
 *   serving and removes the new one.
 * - **Ports.** Containers publish their ports on 127.0.0.1 with random host ports only. A workload
 *   port's stable address is a detached forwarder process (`detached-forwarder.ts`) on the host
 *   port the platform assigned (`RenderedPort.hostPort`), else on one picked at creation and kept
 *   across deployments; it points at the current instance. It outlives the server, so workload
 *   traffic keeps flowing while the server restarts.
 * - **State.** Labels (`docker-labels.ts`), and the forwarders' files under `stateDir`. `init()`
 *   lists the target's containers, keeps one instance per workload, starts what died while the
 *   server was down, takes over the running forwarders (starting those that are gone) and stops
 *   forwarders of workloads that no longer exist. Nothing without the target's labels is ever
 *   touched; a name taken by a foreign container or network is an error.
 * - **Health.** Crashes are restarted by the engine (`on-failure`); readiness and liveness are
 *   checked by a monitor in the server (`instance-watch.ts`); a failed liveness probe (three in a
 *   row) restarts the container through the engine.
 */
import { setMaxListeners } from 'node:events';
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ForwarderTarget } from '../process/forwarder-spec.js';
import {
  DNS_LABEL,
  PavedError,
  type ApplyOutcome,
  type ApplyResult,
  type ContainerStatus,
  type DestroyOptions,
  type EnvironmentRef,
  type EventSink,
  type LogLine,
  type LogOptions,
  type RenderedContainer,
  type RenderedWorkload,
  type ResourceContainers,
  type Runtime,
  type RuntimePlan,
  type RuntimePlanItem,
  type WorkloadState,
  type WorkloadStatus,
} from '@paved/core';
import Docker from 'dockerode';
import { followContainerLogs, readContainerLogs } from './container-logs.js';
import { DetachedForwarder, stopForwardersIn, workloadForwardersDir } from './detached-forwarder.js';
import { dockerConnection, findDockerHost, usualDockerSockets } from './docker-host.js';
import {
  chooseCurrent,
  groupInstances,
  instanceContainerIds,
  workloadKey,
  type Instance,
} from './docker-instance.js';
import { environmentSelector, LABEL, networkName } from './docker-labels.js';
import { dockerWorkloadProblems, startOrder } from './docker-workload-problems.js';
import { unreachableError } from './engine-errors.js';
import { Engine } from './engine.js';
import {
  ensureNetwork,
  ensureVolumes,
  removeBuiltImages,
  removeEnvironmentImages,
  removeEnvironmentVolumes,
  removeNetwork,
} from './environment-objects.js';
import { ExitCodes } from './exit-codes.js';
import { ImageResolver, type RegistryCredentials, type ResolvedImage } from './image-resolver.js';
import { chooseInstanceId, createInstance } from './instance-creation.js';
import { describeWatchProbe, InstanceWatch } from './instance-watch.js';
import { mergeByTime } from './log-demux.js';
import { readinessGate } from './readiness-gate.js';
import { DockerResourceContainers } from './resource-containers.js';
import { ServiceAddresses, type AddressPort, type ServiceAddress } from './service-address.js';

export interface DockerRuntimeOptions {
  /** The target's name: part of every label, so two targets on one engine never touch each other. */
  name: string;
  /**
   * The Paved installation the target belongs to (the server's store id): part of every label,
   * so that two installations on one engine never touch each other's objects, even with targets of
   * the same name. Objects without it (made before it existed) are owned too. Absent outside a
   * server (tests, benches): only unlabelled objects are owned.
   */
  installation?: string;
  /**
   * Where the workloads' port forwarders keep their files (readable by the server only). Default:
   * `<tmpdir>/paved-docker/<name>`; the server passes one in its data directory.
   */
  stateDir?: string;
  /** `unix:///path` or `tcp://host:port`. Default: {@link findDockerHost}. */
  host?: string;
  /** Credentials per registry server (`ghcr.io`, `127.0.0.1:5001`, `docker.io`), used for pulls. */
  registries?: Record<string, RegistryCredentials>;
  /** How long `apply()` waits for a new instance to become ready. Default 60 s. */
  readinessTimeoutMs?: number;
  /** How often probes run. Default 1 s. */
  probeIntervalMs?: number;
  /** SIGTERM → SIGKILL delay when stopping a container. Default 10 s. */
  graceMs?: number;
  /**
   * After a switch, how long the old instance may keep finishing the connections it still has
   * before it gets SIGTERM. Default 30 s.
   */
  drainTimeoutMs?: number;
  /** A container without a readiness probe is ready once it has run this long. Default 1 s. */
  minUptimeMs?: number;
  /** Events seen outside `apply()` (restarts, liveness failures, recoveries). */
  onEvent?: EventSink;
  /**
   * The image of the sandbox container that holds a multi-container workload's network namespace;
   * it runs `sleep`. Default: the image of the workload's first container.
   */
  sandboxImage?: string;
  /**
   * An image with Node 20+ on which the workloads' service-address containers are built
   * (`service-address-image.ts`). Default: this server's own Node binary, which needs the engine
   * on this machine.
   */
  nodeImage?: string;
}

interface WorkloadEntry {
  env: EnvironmentRef;
  name: string;
  current: Instance;
  watch: InstanceWatch;
  /** Port name → the forwarder owning its stable host port (TCP ports). */
  forwarders: Map<string, DetachedForwarder>;
  /** The workload's address in the environment's network, when it has TCP service ports. */
  address?: ServiceAddress;
  /** The monitor's evaluation in flight, awaited before the instance is replaced or removed. */
  tick?: Promise<void>;
  /**
   * Restarts already reported per container (those before an adoption count as reported), and
   * consecutive ticks a container was found exited.
   */
  reported: Map<string, number>;
  exitedTicks: Map<string, number>;
  /** A problem adoption found (e.g. a host port that could not be listened on again). */
  message?: string;
  /** The monitor's last failure, cleared by its next successful round. */
  monitorError?: string;
}

const LIVENESS_FAILURE_LIMIT = 3;
/** How often the monitor runs exec probes at most (the gate runs them every probe interval). */
const EXEC_PROBE_INTERVAL_MS = 10_000;

export class DockerRuntime implements Runtime {
  readonly kind = 'docker' as const;
  readonly name: string;
  readonly host: string;
  readonly #engine: Engine;
  readonly #images: ImageResolver;
  /** Dedicated server containers of the `container` resource driver (`resource-containers.ts`). */
  readonly resourceContainers: ResourceContainers;
  readonly #exits: ExitCodes;
  readonly #readinessTimeoutMs: number;
  readonly #drainTimeoutMs: number;
  readonly #probeIntervalMs: number;
  readonly #minUptimeMs: number;
  readonly #onEvent: EventSink | undefined;
  readonly #sandboxImage: string | undefined;
  readonly #addresses: ServiceAddresses;
  readonly #stateDir: string;
  readonly #workloads = new Map<string, WorkloadEntry>();
  /** Workloads an apply is working on: adoption leaves them alone. */
  readonly #applying = new Set<string>();
  /** Adoptions in flight, so that concurrent calls adopt a workload once. */
  readonly #adopting = new Map<string, Promise<void>>();
  #initialized: Promise<void> | undefined;
  #monitor: NodeJS.Timeout | undefined;

  constructor(options: DockerRuntimeOptions) {
    const host = options.host ?? findDockerHost();
    if (host === undefined) {
      throw new PavedError(
        'UNAVAILABLE',
        `docker target "${options.name}": no container engine found (DOCKER_HOST is not set and none of ${usualDockerSockets().join(', ')} exists); start Docker or \`podman system service\`, or configure the target's host`,
      );
    }
    this.name = options.name;
    this.host = host;
    const docker = new Docker(dockerConnection(host));
    const owner = { target: this.name, installation: options.installation };
    this.#engine = new Engine(docker, owner, host, options.graceMs ?? 10_000);
    this.#images = new ImageResolver(docker, owner, host, options.registries);
    this.resourceContainers = new DockerResourceContainers(this.#engine, this.#images);
    this.#exits = new ExitCodes(docker, this.name);
    this.#readinessTimeoutMs = options.readinessTimeoutMs ?? 60_000;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.#probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.#minUptimeMs = options.minUptimeMs ?? 1000;
    this.#onEvent = options.onEvent;
    this.#sandboxImage = options.sandboxImage;
    this.#addresses = new ServiceAddresses(
      this.#engine,
      options.nodeImage === undefined ? {} : { nodeImage: options.nodeImage },
    );
    this.#stateDir = options.stateDir ?? join(tmpdir(), 'paved-docker', options.name);
  }

  /** Finds what the target owns (by labels), starts what died while the server was down. */
  async init(): Promise<void> {
    this.#initialized ??= this.#init().catch((error: unknown) => {
      this.#initialized = undefined;
      throw error;
    });
    return this.#initialized;
  }

  /**
   * Stops supervising (server shutdown): containers and their port forwarders keep running, so
   * workload traffic goes on; the next `init()` takes them over again.
   */
  async close(): Promise<void> {
    if (this.#monitor !== undefined) clearInterval(this.#monitor);
    this.#monitor = undefined;
    this.#exits.close();
    const entries = [...this.#workloads.values()];
    this.#workloads.clear();
    await Promise.all(entries.map(async (entry) => entry.tick));
    this.#initialized = undefined;
  }

  async plan(env: EnvironmentRef, desired: RenderedWorkload[]): Promise<RuntimePlan> {
    checkEnvironment(env);
    const problems = dockerWorkloadProblems(desired);
    if (problems.length > 0) {
      throw PavedError.invalid(problems.map((problem) => problem.message).join('; '), problems);
    }
    await this.init();
    await this.#refresh(env);
    const items: RuntimePlanItem[] = [];
    const wanted = new Set<string>();
    for (const workload of desired) {
      wanted.add(workload.name);
      const entry = this.#workloads.get(workloadKey(env, workload.name));
      if (entry === undefined) {
        items.push({ workload: workload.name, action: 'create', reason: 'not running', desired: workload });
      } else if (entry.current.specHash !== workload.specHash) {
        items.push({ workload: workload.name, action: 'update', reason: 'spec changed', desired: workload });
      } else if (!(await this.#engine.isRunning(entry.current))) {
        items.push({ workload: workload.name, action: 'update', reason: 'not running', desired: workload });
      } else {
        items.push({ workload: workload.name, action: 'unchanged', desired: workload });
      }
    }
    for (const entry of this.#entries(env)) {
      if (!wanted.has(entry.name))
        items.push({ workload: entry.name, action: 'delete', reason: 'not in the deployment' });
    }
    return { env, items };
  }

  async apply(plan: RuntimePlan, events: EventSink, outerSignal: AbortSignal): Promise<ApplyResult> {
    const env = plan.env;
    checkEnvironment(env);
    await this.init();
    // Every workload (and every engine request) listens on the signal: one of our own, without
    // Node's listener limit, follows the caller's.
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    const abort = (): void => controller.abort();
    outerSignal.addEventListener('abort', abort, { once: true });
    if (outerSignal.aborted) controller.abort();
    const signal = controller.signal;
    let networkProblem: string | undefined;
    if (plan.items.some((item) => item.action === 'create' || item.action === 'update')) {
      try {
        await ensureNetwork(this.#engine, env);
      } catch (error) {
        networkProblem = error instanceof Error ? error.message : String(error);
      }
    }
    const outcomes = await Promise.all(
      plan.items.map(async (item): Promise<ApplyOutcome> => {
        const key = workloadKey(env, item.workload);
        this.#applying.add(key);
        try {
          if (networkProblem !== undefined && (item.action === 'create' || item.action === 'update')) {
            throw new PavedError('TARGET_FAILED', `workload "${item.workload}": ${networkProblem}`);
          }
          return await this.#applyItem(env, item, events, signal);
        } catch (error) {
          const message = hideSecrets(
            this.#images.scrub(error instanceof Error ? error.message : String(error)),
            item.desired,
          );
          const kept =
            this.#workloads.has(key) && item.action === 'update'
              ? '; the previous instance keeps running'
              : '';
          events({
            level: 'error',
            type: 'workload.failed',
            workload: item.workload,
            message: `${message}${kept}`,
          });
          const lastLogLines =
            error instanceof PavedError ? (error.details?.lastLogLines as string[] | undefined) : undefined;
          return {
            workload: item.workload,
            action: item.action,
            ok: false,
            error: `${message}${kept}`,
            ...(lastLogLines === undefined ? {} : { evidence: { lastLogLines } }),
          };
        } finally {
          this.#applying.delete(key);
        }
      }),
    );
    outerSignal.removeEventListener('abort', abort);
    return { workloads: outcomes };
  }

  async status(env: EnvironmentRef): Promise<WorkloadStatus[]> {
    checkEnvironment(env);
    await this.init();
    await this.#refresh(env);
    const entries = this.#entries(env).sort((a, b) => a.name.localeCompare(b.name));
    return Promise.all(entries.map((entry) => this.#workloadStatus(entry)));
  }

  async *logs(env: EnvironmentRef, workload: string, options: LogOptions): AsyncIterable<LogLine> {
    checkEnvironment(env);
    await this.init();
    await this.#refresh(env);
    const entry = this.#workloads.get(workloadKey(env, workload));
    if (entry === undefined) {
      throw new PavedError(
        'NOT_FOUND',
        `workload "${workload}" does not run in ${env.app}/${env.env} on docker target "${this.name}"; deploy it first`,
      );
    }
    const names = entry.current.layout.containers;
    if (options.container !== undefined && !names.includes(options.container)) {
      throw new PavedError(
        'NOT_FOUND',
        `workload "${workload}" has no container "${options.container}"; its containers are ${names.join(', ')}`,
      );
    }
    const containers = (options.container === undefined ? names : [options.container]).flatMap((name) => {
      const id = entry.current.containers.get(name);
      return id === undefined ? [] : [{ name, id }];
    });
    if (options.follow === true) {
      yield* followContainerLogs(this.#engine, containers, options);
      return;
    }
    const groups = await Promise.all(
      containers.map(({ name, id }) => readContainerLogs(this.#engine, name, id, options)),
    );
    let lines = mergeByTime(groups);
    if (options.tail !== undefined) lines = options.tail <= 0 ? [] : lines.slice(-options.tail);
    yield* lines;
  }

  /**
   * Removes every container and the network of the environment, and the images built for it.
   * Named volumes hold data and are kept unless `deleteData` is set (`envs delete --delete-data`).
   */
  async destroy(env: EnvironmentRef, options: DestroyOptions = {}): Promise<void> {
    checkEnvironment(env);
    await this.init();
    const where = `docker target "${this.name}": removing ${env.app}/${env.env}`;
    for (const entry of this.#entries(env)) {
      this.#workloads.delete(workloadKey(env, entry.name));
      await entry.tick;
      await stopForwarders(entry.forwarders.values());
    }
    const containers = await this.#engine.listContainers(where, environmentSelector(env));
    const instances = [...groupInstances(containers).values()].flat();
    await Promise.all(instances.map((instance) => this.#removeInstance(instance)));
    // Containers without a readable layout (a create interrupted half-way) are ours too.
    const left = await this.#engine.listContainers(where, environmentSelector(env));
    await Promise.all(left.map((info) => this.#engine.removeContainer(info.Id)));
    await removeNetwork(this.#engine, env);
    await removeEnvironmentImages(this.#engine, env);
    if (options.deleteData === true) await removeEnvironmentVolumes(this.#engine, env);
    // Forwarders of workloads this process never adopted (their containers were gone) too.
    const envDir = join(this.#stateDir, env.app, env.env);
    for (const workload of listDir(envDir)) {
      await stopForwardersIn(workloadForwardersDir(this.#stateDir, env, workload));
    }
    rmSync(envDir, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------------------------------------
  // Adoption

  async #init(): Promise<void> {
    try {
      await this.#engine.docker.ping();
    } catch (error) {
      throw unreachableError(this.name, this.host, error);
    }
    await this.#exits.start();
    const list = await this.#engine.listContainers(`docker target "${this.name}": listing its containers`);
    await Promise.all([...groupInstances(list)].map(([key, instances]) => this.#adoptOnce(key, instances)));
    await this.#stopOrphanForwarders();
    await this.#addresses.removeOrphans((env, workload) => {
      const key = workloadKey(env, workload);
      return this.#workloads.has(key) || this.#applying.has(key) || this.#adopting.has(key);
    });
    if (this.#monitor === undefined) {
      this.#monitor = setInterval(() => this.#monitorTick(), this.#probeIntervalMs);
      this.#monitor.unref();
    }
  }

  /** Lists the environment's containers: adopts workloads started elsewhere, forgets vanished ones. */
  async #refresh(env: EnvironmentRef): Promise<void> {
    const list = await this.#engine.listContainers(
      `docker target "${this.name}": listing ${env.app}/${env.env}`,
      environmentSelector(env),
    );
    const groups = groupInstances(list);
    for (const entry of this.#entries(env)) {
      const key = workloadKey(env, entry.name);
      const present = groups.get(key)?.some((instance) => instance.id === entry.current.id) === true;
      if (!present && !this.#applying.has(key)) {
        this.#workloads.delete(key);
        await stopForwarders(entry.forwarders.values());
      }
    }
    for (const [key, instances] of groups) {
      if (!this.#workloads.has(key) && !this.#applying.has(key)) await this.#adoptOnce(key, instances);
    }
  }

  #adoptOnce(key: string, instances: Instance[]): Promise<void> {
    let adopting = this.#adopting.get(key);
    if (adopting === undefined) {
      adopting = this.#adopt(instances).finally(() => this.#adopting.delete(key));
      this.#adopting.set(key, adopting);
    }
    return adopting;
  }

  /** Keeps one instance of a workload found on the engine and brings it back to serving. */
  async #adopt(instances: Instance[]): Promise<void> {
    const current = chooseCurrent(instances);
    if (current === undefined) return;
    const key = workloadKey(current.env, current.workload);
    for (const other of instances) if (other !== current) await this.#removeInstance(other);
    await this.#recover(current);
    const forwarders = new Map<string, DetachedForwarder>();
    const problems: string[] = [];
    // The forwarders a previous server process started are still relaying: take them over.
    const workloadDir = workloadForwardersDir(this.#stateDir, current.env, current.workload);
    const running = DetachedForwarder.found(workloadDir);
    for (const [port, spec] of Object.entries(current.layout.ports)) {
      if (spec.protocol !== 'TCP' || spec.hostPort === undefined) continue;
      const kept = running.find(
        (forwarder) => forwarder.portName === port && forwarder.port === spec.hostPort,
      );
      if (kept !== undefined) {
        forwarders.set(port, kept);
        continue;
      }
      try {
        forwarders.set(port, await DetachedForwarder.start(workloadDir, port, spec.hostPort));
      } catch (error) {
        problems.push(
          // The platform keeps the port assigned to the workload, so a redeploy would ask for the
          // same one: only freeing it helps.
          `port "${port}" cannot listen on 127.0.0.1:${spec.hostPort} again (${errorCode(error)}); stop what took that port, then restart the server or deploy again`,
        );
      }
    }
    const used = new Set(forwarders.values());
    await stopForwarders(running.filter((forwarder) => !used.has(forwarder)));
    const watch = this.#newWatch(current);
    watch.assumeWasReady();
    const entry: WorkloadEntry = {
      env: current.env,
      name: current.workload,
      current,
      watch,
      forwarders,
      reported: await this.#restartCounts(current),
      exitedTicks: new Map(),
      ...(problems.length === 0 ? {} : { message: `workload "${current.workload}": ${problems.join('; ')}` }),
    };
    const published = await this.#engine.publishedPorts(current);
    pointForwarders(entry, published);
    const ports = addressPorts(current.layout.ports);
    if (current.layout.address === true && ports !== undefined) {
      try {
        const { address } = await this.#addresses.ensure(current.env, current.workload, ports);
        entry.address = address;
        await this.#pointAddress(entry, await this.#engine.networkAddress(current, networkName(current.env)));
      } catch (error) {
        problems.push(
          `its service address in the network could not be set up again (${error instanceof Error ? error.message : String(error)}); deploy it again`,
        );
        entry.message = `workload "${current.workload}": ${problems.join('; ')}`;
      }
    }
    this.#workloads.set(key, entry);
  }

  /** Points the workload's service address at the current instance's IP in the network. */
  async #pointAddress(entry: WorkloadEntry, ip: string | undefined): Promise<void> {
    if (entry.address === undefined || ip === undefined) return;
    await entry.address.point(entry.current.id, addressTargets(entry.current.layout.ports, ip));
  }

  /**
   * Starts the containers of an instance that should run and do not (killed, or the engine
   * restarted). A lost sandbox means a lost network namespace: the sandbox starts again and every
   * container restarts into the new namespace.
   */
  async #recover(instance: Instance): Promise<void> {
    const where = `workload "${instance.workload}" in ${instance.env.app}/${instance.env.env}`;
    const completes = new Set(instance.layout.completes);
    let started = false;
    let restartAll = false;
    if (instance.sandbox !== undefined) {
      const sandbox = await this.#engine.inspectContainer(instance.sandbox);
      if (sandbox !== undefined && !sandbox.State.Running) {
        await this.#engine.call(`${where}: starting its sandbox again`, () =>
          this.#engine.docker.getContainer(instance.sandbox ?? '').start(),
        );
        restartAll = true;
        started = true;
      }
    }
    for (const name of instance.layout.containers) {
      const id = instance.containers.get(name);
      if (id === undefined) continue;
      const info = await this.#engine.inspectContainer(id);
      if (info === undefined) continue;
      const completed = completes.has(name) && info.State.Status === 'exited' && info.State.ExitCode === 0;
      if (completed) continue;
      const container = this.#engine.docker.getContainer(id);
      if (restartAll && info.State.Running) {
        await this.#engine.call(`${where}: restarting container "${name}"`, () =>
          container.restart({ t: this.#engine.graceSeconds }),
        );
      } else if (!info.State.Running && !info.State.Restarting) {
        await this.#engine.call(`${where}: starting container "${name}" again`, () => container.start());
        started = true;
      }
    }
    if (started) {
      this.#onEvent?.({
        level: 'warn',
        type: 'workload.restarted',
        workload: instance.workload,
        source: { app: instance.env.app, env: instance.env.env, deployment: instance.deployment },
        message: `${instance.env.app}/${instance.env.env}: workload "${instance.workload}" was not running; started its containers again`,
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Apply

  async #applyItem(
    env: EnvironmentRef,
    item: RuntimePlanItem,
    events: EventSink,
    signal: AbortSignal,
  ): Promise<ApplyOutcome> {
    const entry = this.#workloads.get(workloadKey(env, item.workload));
    switch (item.action) {
      case 'unchanged':
        return {
          workload: item.workload,
          action: item.action,
          ok: true,
          ...(entry === undefined ? {} : { images: imagesOf(entry.current) }),
        };
      case 'delete':
        await this.#removeWorkload(env, item.workload);
        events({
          level: 'info',
          type: 'workload.stopped',
          workload: item.workload,
          message: `stopped and removed workload "${item.workload}"`,
        });
        return { workload: item.workload, action: item.action, ok: true };
      case 'create':
      case 'update': {
        if (item.desired === undefined) {
          throw new PavedError(
            'INTERNAL',
            `plan item "${item.workload}" (${item.action}) has no desired spec`,
          );
        }
        if (signal.aborted)
          return {
            workload: item.workload,
            action: item.action,
            ok: false,
            error: 'cancelled before it started',
          };
        return this.#deploy(env, item.desired, item.action, events, signal);
      }
    }
  }

  async #deploy(
    env: EnvironmentRef,
    desired: RenderedWorkload,
    action: 'create' | 'update',
    events: EventSink,
    signal: AbortSignal,
  ): Promise<ApplyOutcome> {
    const name = desired.name;
    const key = workloadKey(env, name);
    const previous = this.#workloads.get(key);
    events({
      level: 'info',
      type: 'workload.starting',
      workload: name,
      message: `starting workload "${name}" of deployment ${desired.deployment} (${action})`,
    });

    const order = startOrder(desired).order;
    const resolved = new Map<string, ResolvedImage>();
    await Promise.all(
      order.map(async (container) => {
        const spec = desired.containers[container];
        if (spec !== undefined)
          resolved.set(container, await this.#images.resolve(env, name, container, spec, events, signal));
      }),
    );
    let sandboxImage: ResolvedImage | undefined;
    if (order.length > 1) {
      sandboxImage =
        this.#sandboxImage === undefined
          ? resolved.get(order[0] ?? '')
          : await this.#images.resolve(
              env,
              name,
              'sandbox',
              { ...emptyContainer(), image: this.#sandboxImage },
              events,
              signal,
            );
    }
    await ensureVolumes(this.#engine, env, desired);

    const { forwarders, opened } = await this.#forwardersFor(env, desired, previous);
    let instance: Instance | undefined;
    const ports = addressPorts(desired.ports);
    let address: ServiceAddress | undefined;
    let addressCreated = false;
    // The service address is made sure of while the instance starts (a first deploy creates it,
    // and the first on an engine builds its image): it is needed only at the switch.
    const addressWork =
      ports === undefined
        ? undefined
        : this.#addresses.ensure(env, name, ports).then((made) => {
            addressCreated = made.created;
            return made.address;
          });
    addressWork?.catch(() => undefined);
    try {
      const instanceId = await chooseInstanceId(this.#engine, env, desired, order.length > 1);
      const created = await createInstance(this.#engine, {
        env,
        desired,
        instanceId,
        order,
        resolved,
        sandboxImage,
        hostPorts: new Map([...forwarders].map(([port, forwarder]) => [port, forwarder.port])),
        alias: ports === undefined,
      });
      instance = created.instance;
      const watch = this.#newWatch(instance);
      const gate = await readinessGate(this.#engine, {
        instance,
        watch,
        desired,
        started: created.started,
        events,
        signal,
        exits: this.#exits,
        readinessTimeoutMs: this.#readinessTimeoutMs,
        probeIntervalMs: this.#probeIntervalMs,
      });
      if (!gate.ok) {
        await this.#removeInstance(instance);
        instance = undefined;
        await stopForwarders(opened);
        await addressWork?.catch(() => undefined);
        if (addressCreated) await this.#restoreAddress(env, name, previous);
        const kept =
          previous === undefined
            ? ''
            : `; the instance of deployment ${previous.current.deployment} keeps running`;
        events({ level: 'error', type: 'workload.failed', workload: name, message: `${gate.error}${kept}` });
        return {
          workload: name,
          action,
          ok: false,
          error: `${gate.error}${kept}`,
          evidence: gate.evidence,
          images: imagesFrom(resolved),
        };
      }

      // Switch: the forwarders point at the new instance, then the old one stops.
      const published = watch.snapshot?.published ?? (await this.#engine.publishedPorts(instance));
      const entry: WorkloadEntry = {
        env,
        name,
        current: instance,
        watch,
        forwarders,
        reported: new Map(watch.snapshot?.containers.map((view) => [view.name, view.restartCount])),
        exitedTicks: new Map(),
      };
      const replaced = [...forwarders.values()].flatMap((forwarder) =>
        forwarder.target === undefined ? [] : [{ forwarder, target: forwarder.target }],
      );
      // What the old instance is reached at through the service address, to drain it there too.
      const previousIp =
        previous?.address === undefined
          ? undefined
          : await this.#engine.networkAddress(previous.current, networkName(env));
      const replacedTargets =
        previousIp === undefined || previous === undefined
          ? []
          : Object.values(addressTargets(previous.current.layout.ports, previousIp));
      address = await addressWork;
      if (address !== undefined) {
        const ip = watch.snapshot?.ip ?? (await this.#engine.networkAddress(instance, networkName(env)));
        if (ip === undefined) {
          throw new PavedError(
            'TARGET_FAILED',
            `workload "${name}": the new instance has no address in network ${networkName(env)}, so its service address cannot point at it; the previous instance keeps serving`,
          );
        }
        entry.address = address;
        await address.point(instance.id, addressTargets(instance.layout.ports, ip));
      }
      pointForwarders(entry, published);
      this.#workloads.set(key, entry);
      if (previous !== undefined) {
        // Drain: the old instance gets no new connections or requests now; those it has finish
        // first, on the host ports and through the service address alike.
        const left = await Promise.all([
          ...replaced.map(({ forwarder, target }) => forwarder.drain(target, this.#drainTimeoutMs)),
          ...(address === undefined || replacedTargets.length === 0
            ? []
            : [address.drain(replacedTargets, this.#drainTimeoutMs)]),
        ]);
        const open = left.reduce((sum, count) => sum + count, 0);
        if (open > 0) {
          events({
            level: 'warn',
            type: 'workload.drain-timeout',
            workload: name,
            message: `the previous instance of workload "${name}" still had ${open} open connection(s) after the drain timeout of ${this.#drainTimeoutMs} ms; stopping it anyway (raise drainTimeoutMs for longer requests)`,
          });
        }
        const kept = new Set(forwarders.values());
        await stopForwarders([...previous.forwarders.values()].filter((forwarder) => !kept.has(forwarder)));
        await previous.tick;
        await this.#removeInstance(previous.current);
        await removeBuiltImages(this.#engine, previous.current, instance);
        events({
          level: 'info',
          type: 'workload.stopped',
          workload: name,
          message: `stopped the previous instance of workload "${name}" (deployment ${previous.current.deployment})`,
        });
      }
      const addresses = [...forwarders.values()].map((forwarder) => `127.0.0.1:${forwarder.port}`);
      events({
        level: 'info',
        type: 'workload.ready',
        workload: name,
        message: `workload "${name}" is ready${addresses.length > 0 ? ` on ${addresses.join(', ')}` : ''}`,
      });
      return { workload: name, action, ok: true, images: imagesFrom(resolved) };
    } catch (error) {
      if (instance !== undefined && this.#workloads.get(key)?.current !== instance)
        await this.#removeInstance(instance).catch(() => undefined);
      await stopForwarders(opened);
      await addressWork?.catch(() => undefined);
      if (addressCreated && this.#workloads.get(key)?.current !== instance)
        await this.#restoreAddress(env, name, previous).catch(() => undefined);
      throw error;
    }
  }

  /**
   * After a failed replace that had to create the service address anew (first deploy, or changed
   * ports): without a previous instance it goes; with one, it listens on that instance's ports and
   * points at it again.
   */
  async #restoreAddress(
    env: EnvironmentRef,
    name: string,
    previous: WorkloadEntry | undefined,
  ): Promise<void> {
    const ports = previous === undefined ? undefined : addressPorts(previous.current.layout.ports);
    if (previous === undefined || ports === undefined || previous.current.layout.address !== true) {
      await this.#addresses.remove(env, name);
      if (previous !== undefined) previous.address = undefined;
      return;
    }
    const { address } = await this.#addresses.ensure(env, name, ports);
    previous.address = address;
    await this.#pointAddress(previous, await this.#engine.networkAddress(previous.current, networkName(env)));
  }

  /** The forwarders of a workload's TCP ports: kept when the host port stays, new ones otherwise. */
  async #forwardersFor(
    env: EnvironmentRef,
    desired: RenderedWorkload,
    previous: WorkloadEntry | undefined,
  ): Promise<{ forwarders: Map<string, DetachedForwarder>; opened: DetachedForwarder[] }> {
    const forwarders = new Map<string, DetachedForwarder>();
    const opened: DetachedForwarder[] = [];
    const workloadDir = workloadForwardersDir(this.#stateDir, env, desired.name);
    for (const [port, spec] of Object.entries(desired.ports)) {
      if (spec.protocol !== 'TCP') continue;
      const existing = previous?.forwarders.get(port);
      const wanted = spec.hostPort ?? existing?.port ?? 0;
      if (existing !== undefined && existing.port === wanted) {
        forwarders.set(port, existing);
        continue;
      }
      try {
        const forwarder = await DetachedForwarder.start(workloadDir, port, wanted);
        opened.push(forwarder);
        forwarders.set(port, forwarder);
      } catch (error) {
        await stopForwarders(opened);
        throw new PavedError(
          'CONFLICT',
          `workload "${desired.name}" port "${port}": cannot listen on 127.0.0.1:${wanted} (${errorCode(error)}); free the port or let the platform assign another`,
        );
      }
    }
    return { forwarders, opened };
  }

  // ---------------------------------------------------------------------------------------------
  // Monitor

  #monitorTick(): void {
    for (const entry of this.#workloads.values()) {
      if (entry.tick !== undefined) continue;
      entry.tick = this.#check(entry)
        .then(() => {
          entry.monitorError = undefined;
        })
        .catch((error: unknown) => {
          entry.monitorError = `workload "${entry.name}": Paved could not check it: ${error instanceof Error ? error.message : String(error)}`;
        })
        .finally(() => {
          entry.tick = undefined;
        });
    }
  }

  /** One round for a current instance: readiness, liveness, restarts, recovery, forwarder targets. */
  async #check(entry: WorkloadEntry): Promise<void> {
    const { watch } = entry;
    const instance = entry.current;
    const isCurrent = (): boolean => this.#workloads.get(workloadKey(entry.env, entry.name)) === entry;
    const execInterval = Math.max(EXEC_PROBE_INTERVAL_MS, this.#probeIntervalMs);
    const snapshot = await watch.evaluate(execInterval);
    if (!isCurrent()) return;
    pointForwarders(entry, snapshot.published);
    // A restart into a new network namespace may come with a new IP address.
    await this.#pointAddress(entry, snapshot.ip);
    const emit = this.#onEvent;
    const where = `${entry.env.app}/${entry.env.env}`;
    const source = { app: entry.env.app, env: entry.env.env, deployment: instance.deployment };
    let recover = snapshot.sandboxDown;
    const reported = entry.reported;
    for (const view of snapshot.containers) {
      const probes = watch.probes.get(view.name);
      if (probes === undefined) continue;
      const restarts = view.restartCount + probes.livenessRestarts;
      const before = reported.get(view.name) ?? 0;
      reported.set(view.name, restarts);
      if (restarts > before) {
        const code = this.#exits.lastExit(view.id);
        emit?.({
          level: 'warn',
          type: 'container.restarted',
          workload: entry.name,
          container: view.name,
          source,
          message: `${where}: container "${view.name}" of workload "${entry.name}" restarted (${restarts} so far, ${probes.livenessRestarts} after failed liveness probes${code === undefined ? '' : `, last exit code ${code}`})`,
        });
      }
      // A container that stays exited (killed from outside; the engine does not restart those).
      const down = view.status === 'exited' && !view.completed;
      const ticks = down ? (entry.exitedTicks.get(view.name) ?? 0) + 1 : 0;
      entry.exitedTicks.set(view.name, ticks);
      if (ticks >= 3) recover = true;

      const liveness = instance.layout.probes[view.name]?.liveness;
      if (liveness === undefined || !view.running || !probes.wasReady) continue;
      const probe = watch.resolve(liveness, view.id, snapshot.published);
      // A recent exec result is not a new failure: only fresh checks count towards the limit.
      if (!watch.isDue(probe, `${view.name}/liveness`, execInterval)) continue;
      const result = await watch.check(probe, `${view.name}/liveness`, execInterval);
      if (result.ok) {
        probes.livenessFailures = 0;
        continue;
      }
      probes.livenessFailures += 1;
      probes.probeFailures += 1;
      probes.lastProbe = { probe: describeWatchProbe(probe), status: result.status };
      probes.lastFailure = {
        probe: `liveness ${describeWatchProbe(probe)}`,
        status: result.status,
        at: new Date().toISOString(),
      };
      if (probes.livenessFailures < LIVENESS_FAILURE_LIMIT || !isCurrent()) continue;
      probes.livenessFailures = 0;
      probes.wasReady = false;
      probes.livenessRestarts += 1;
      emit?.({
        level: 'warn',
        type: 'container.unhealthy',
        workload: entry.name,
        container: view.name,
        source,
        message: `${where}: container "${view.name}" of workload "${entry.name}" failed its liveness probe ${LIVENESS_FAILURE_LIMIT} times (${result.status}); restarting it`,
      });
      await this.#engine.docker.getContainer(view.id).restart({ t: this.#engine.graceSeconds });
    }
    if (recover && isCurrent()) {
      entry.exitedTicks.clear();
      await this.#recover(instance);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Status and logs

  async #workloadStatus(entry: WorkloadEntry): Promise<WorkloadStatus> {
    const instance = entry.current;
    const snapshot = entry.watch.snapshot;
    const completes = new Set(instance.layout.completes);
    const published = await this.#engine.publishedPorts(instance);
    const containers: ContainerStatus[] = await Promise.all(
      instance.layout.containers.map(async (name): Promise<ContainerStatus> => {
        const id = instance.containers.get(name) ?? '';
        const info = id === '' ? undefined : await this.#engine.inspectContainer(id);
        const probes = entry.watch.probes.get(name);
        const restarts = (info?.RestartCount ?? 0) + (probes?.livenessRestarts ?? 0);
        const image = instance.images.get(name)?.reference;
        const base = {
          name,
          restarts,
          ...(image === undefined ? {} : { image }),
          probeFailures: probes?.probeFailures ?? 0,
          ...(probes?.lastFailure === undefined ? {} : { lastProbeFailure: probes.lastFailure }),
        };
        if (info === undefined) return { ...base, state: 'failed' };
        const state = info.State;
        if (state.Running && !state.Restarting) {
          const last = restarts > 0 ? this.#exits.lastExit(id) : undefined;
          return { ...base, state: 'running', ...(last === undefined ? {} : { exitCode: last }) };
        }
        if (state.Status === 'created') return { ...base, state: 'waiting' };
        if (completes.has(name) && state.ExitCode === 0 && state.Status === 'exited')
          return { ...base, state: 'completed', exitCode: 0 };
        return { ...base, state: state.Status === 'dead' ? 'failed' : 'exited', exitCode: state.ExitCode };
      }),
    );
    const ports = Object.entries(instance.layout.ports).map(([name, spec]) => {
      const forwarder = entry.forwarders.get(name);
      const publishedPort = published.get(`${spec.targetPort}/${spec.protocol.toLowerCase()}`);
      const address =
        forwarder !== undefined
          ? `127.0.0.1:${forwarder.port}`
          : publishedPort === undefined
            ? undefined
            : `127.0.0.1:${publishedPort}`;
      return { name, port: spec.port, ...(address === undefined ? {} : { address }) };
    });
    const base = { name: entry.name, deployment: instance.deployment, containers, ports };
    const broken = containers.find(
      (container) => container.state === 'failed' || container.state === 'exited',
    );
    const running = containers.every(
      (container) => container.state === 'running' || container.state === 'completed',
    );
    let state: WorkloadState;
    let message = entry.message ?? entry.monitorError;
    if (running && snapshot?.ready === true) state = 'ready';
    else if (broken !== undefined) {
      state = 'failed';
      message ??= `container "${broken.name}" ${broken.state === 'failed' ? 'is gone' : `exited with code ${broken.exitCode ?? '?'}`}`;
    } else if ([...entry.watch.probes.values()].some((probes) => probes.wasReady)) state = 'running';
    else state = 'starting';
    return { ...base, state, ready: state === 'ready', ...(message === undefined ? {} : { message }) };
  }

  // ---------------------------------------------------------------------------------------------
  // Engine objects

  async #removeWorkload(env: EnvironmentRef, workload: string): Promise<void> {
    const key = workloadKey(env, workload);
    const entry = this.#workloads.get(key);
    this.#workloads.delete(key);
    if (entry !== undefined) {
      await entry.tick;
      await stopForwarders(entry.forwarders.values());
    }
    await stopForwardersIn(workloadForwardersDir(this.#stateDir, env, workload));
    await this.#addresses.remove(env, workload);
    const list = await this.#engine.listContainers(`workload "${workload}": listing its containers`, {
      ...environmentSelector(env),
      [LABEL.workload]: workload,
    });
    const instances = [...groupInstances(list).values()].flat();
    await Promise.all(instances.map((instance) => this.#removeInstance(instance)));
    for (const instance of instances) await removeBuiltImages(this.#engine, instance);
  }

  /** The engine's restart count of each container of an instance. */
  async #restartCounts(instance: Instance): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const [name, id] of instance.containers) {
      counts.set(name, (await this.#engine.inspectContainer(id))?.RestartCount ?? 0);
    }
    return counts;
  }

  /** Stops and removes an instance's containers and forgets their exit codes. */
  async #removeInstance(instance: Instance): Promise<void> {
    await this.#engine.removeInstance(instance);
    for (const id of instanceContainerIds(instance)) this.#exits.forget(id);
  }

  #newWatch(instance: Instance): InstanceWatch {
    return new InstanceWatch(this.#engine.docker, instance, {
      probeTimeoutMs: Math.max(1000, this.#probeIntervalMs * 2),
      minUptimeMs: this.#minUptimeMs,
    });
  }

  /**
   * Stops the forwarders of workloads that have no containers any more (removed while the server
   * was down): nothing would ever point them anywhere again.
   */
  async #stopOrphanForwarders(): Promise<void> {
    for (const app of listDir(this.#stateDir)) {
      for (const envName of listDir(join(this.#stateDir, app))) {
        const env = { app, env: envName };
        for (const workload of listDir(join(this.#stateDir, app, envName))) {
          const key = workloadKey(env, workload);
          if (this.#workloads.has(key) || this.#applying.has(key) || this.#adopting.has(key)) continue;
          await stopForwardersIn(workloadForwardersDir(this.#stateDir, env, workload));
          rmSync(join(this.#stateDir, app, envName, workload), { recursive: true, force: true });
        }
      }
    }
  }

  #entries(env: EnvironmentRef): WorkloadEntry[] {
    return [...this.#workloads.values()].filter(
      (entry) => entry.env.app === env.app && entry.env.env === env.env,
    );
  }
}

/** An engine's error text with the workload's secret values (variables, secret files) masked. */
function hideSecrets(text: string, workload: RenderedWorkload | undefined): string {
  let clean = text;
  for (const container of Object.values(workload?.containers ?? {})) {
    const values = [
      ...container.secretVariables.map((name) => container.variables[name] ?? ''),
      ...container.files.flatMap((file) =>
        file.secret === true && typeof file.content === 'string' ? [file.content] : [],
      ),
    ];
    // Very short values would mask ordinary words; they cannot be told apart from them anyway.
    for (const value of values) if (value.length >= 4) clean = clean.split(value).join('***');
  }
  return clean;
}

/** Points each TCP forwarder of the workload at the current instance's published port. */
function pointForwarders(entry: WorkloadEntry, published: Map<string, number>): void {
  for (const [name, forwarder] of entry.forwarders) {
    const spec = entry.current.layout.ports[name];
    const port = spec === undefined ? undefined : published.get(`${spec.targetPort}/tcp`);
    if (port !== undefined && forwarder.target?.port !== port)
      forwarder.setTarget({ host: '127.0.0.1', port });
  }
}

async function stopForwarders(forwarders: Iterable<DetachedForwarder>): Promise<void> {
  await Promise.all([...forwarders].map((forwarder) => forwarder.stop()));
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function imagesOf(instance: Instance): NonNullable<ApplyOutcome['images']> {
  return instance.layout.containers.flatMap((container) => {
    const image = instance.images.get(container);
    return image === undefined ? [] : [{ container, ...image }];
  });
}

function imagesFrom(resolved: Map<string, ResolvedImage>): NonNullable<ApplyOutcome['images']> {
  return [...resolved.entries()].map(([container, image]) => ({
    container,
    reference: image.reference,
    digest: image.digest,
  }));
}

function emptyContainer(): RenderedContainer {
  return { image: '', variables: {}, secretVariables: [], files: [], volumes: [], before: {} };
}

function errorCode(error: unknown): string {
  const code = (error as { code?: string } | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : String(error));
}

function checkEnvironment(env: EnvironmentRef): void {
  if (!DNS_LABEL.test(env.app) || !DNS_LABEL.test(env.env)) {
    throw new PavedError(
      'INVALID_INPUT',
      `app "${env.app}" / environment "${env.env}": names must be DNS labels`,
    );
  }
}

/**
 * The ports a service address listens on: every service port, when all are TCP — the declared
 * `port` (what a Kubernetes Service would expose) and, where no declared port takes it, the
 * container's `targetPort` too, which is what `service-port` resources resolve to on container
 * targets. With a UDP port there is no address (the relay is TCP only) and the instance keeps the
 * workload's DNS name itself.
 */
function addressPorts(
  ports: Record<string, { port: number; targetPort: number; protocol: 'TCP' | 'UDP' }>,
): AddressPort[] | undefined {
  const list = Object.entries(ports);
  if (list.length === 0 || list.some(([, spec]) => spec.protocol !== 'TCP')) return undefined;
  const declared = list.map(([name, spec]) => ({ name, port: spec.port }));
  const taken = new Set(declared.map((entry) => entry.port));
  const extra: AddressPort[] = [];
  for (const [name, spec] of list) {
    if (taken.has(spec.targetPort)) continue;
    taken.add(spec.targetPort);
    extra.push({ name, port: spec.targetPort });
  }
  return [...declared, ...extra];
}

/** Port name → where the instance at `ip` serves it in the network. */
function addressTargets(
  ports: Record<string, { targetPort: number }>,
  ip: string,
): Record<string, ForwarderTarget> {
  return Object.fromEntries(
    Object.entries(ports).map(([name, spec]) => [name, { host: ip, port: spec.targetPort }]),
  );
}
