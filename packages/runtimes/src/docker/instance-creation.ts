/**
 * Creating the containers of a new instance: names (and the check that no foreign container holds
 * them), labels, the layout label that lets `init()` rebuild the instance, published ports, files,
 * volumes and limits.
 */
import type Docker from 'dockerode';
import { PavedError, type EnvironmentRef, type RenderedContainer, type RenderedWorkload } from '@paved/core';
import type { Instance } from './docker-instance.js';
import {
  containerName,
  describeOwner,
  environmentLabels,
  isOwned,
  LABEL,
  networkName,
  sandboxName,
  type InstanceLayout,
} from './docker-labels.js';
import { engineMessage } from './engine-errors.js';
import type { Engine } from './engine.js';
import { filesArchive, firstFileOfTar, resolveOwner } from './file-archive.js';
import type { ResolvedImage } from './image-resolver.js';
import { memoryBytes, nanoCpus } from './quantities.js';

/** `sleep` with a count every implementation accepts (GNU and busybox), about 68 years. */
const SANDBOX_COMMAND = ['sleep', '2147483647'];

export interface InstancePlan {
  env: EnvironmentRef;
  desired: RenderedWorkload;
  instanceId: string;
  /** Container names in start order. */
  order: string[];
  resolved: Map<string, ResolvedImage>;
  /** The sandbox's image when the workload has several containers. */
  sandboxImage: ResolvedImage | undefined;
  /** The stable host port (its forwarder's) per TCP port name, recorded in the layout. */
  hostPorts: Map<string, number>;
  /**
   * Whether the instance itself holds the workload's DNS name in the network. Not when a
   * service-address container does (`service-address.ts`): then the name never resolves to an
   * instance, old or new.
   */
  alias: boolean;
}

/**
 * The id of the new instance: `<deployment>`, or `<deployment>-<n>` when an instance of the same
 * deployment still exists. A name held by a container that is not the target's is an error.
 */
export async function chooseInstanceId(
  engine: Engine,
  env: EnvironmentRef,
  desired: RenderedWorkload,
  sandbox: boolean,
): Promise<string> {
  for (let n = 1; ; n += 1) {
    const id = n === 1 ? String(desired.deployment) : `${desired.deployment}-${n}`;
    const names = [
      ...Object.keys(desired.containers).map((container) => containerName(env, desired.name, container, id)),
      ...(sandbox ? [sandboxName(env, desired.name, id)] : []),
    ];
    let free = true;
    for (const candidate of names) {
      const info = await engine.inspectContainer(candidate);
      if (info === undefined) continue;
      if (!isOwned(info.Config?.Labels, engine)) {
        throw new PavedError(
          'CONFLICT',
          `workload "${desired.name}": the container name "${candidate}" is taken by container ${info.Id.slice(0, 12)}, which does not belong to ${describeOwner(engine)} (its labels say otherwise, or there are none); Paved never touches it — rename or remove that container, or that environment in the other installation`,
        );
      }
      free = false;
    }
    if (free) return id;
  }
}

/**
 * Creates the containers of a new instance with their labels, files, volumes, limits and published
 * ports, and starts the one that owns the network namespace (the sandbox, or the only container);
 * the others are started by the readiness gate in `before` order. Returns the instance and which
 * containers already started. On failure, what was created is removed.
 */
export async function createInstance(
  engine: Engine,
  plan: InstancePlan,
): Promise<{ instance: Instance; started: string[] }> {
  const { env, desired, instanceId, order, resolved, sandboxImage, hostPorts, alias } = plan;
  const name = desired.name;
  const started: string[] = [];
  const network = networkName(env);
  const completes = new Set(
    Object.values(desired.containers).flatMap((container) =>
      Object.entries(container.before)
        .filter(([, condition]) => condition.ready === 'complete')
        .map(([other]) => other),
    ),
  );
  const layout: InstanceLayout = {
    containers: order,
    completes: order.filter((container) => completes.has(container)),
    sandbox: sandboxImage !== undefined,
    ports: Object.fromEntries(
      Object.entries(desired.ports).map(([port, spec]) => {
        const hostPort = hostPorts.get(port);
        return [
          port,
          {
            port: spec.port,
            targetPort: spec.targetPort,
            protocol: spec.protocol,
            ...(hostPort === undefined ? {} : { hostPort }),
          },
        ];
      }),
    ),
    probes: Object.fromEntries(
      Object.entries(desired.containers).map(([container, spec]) => [
        container,
        {
          ...(spec.readinessProbe === undefined ? {} : { readiness: spec.readinessProbe }),
          ...(spec.livenessProbe === undefined ? {} : { liveness: spec.livenessProbe }),
        },
      ]),
    ),
    ...(alias ? {} : { address: true }),
  };
  const labels: Record<string, string> = {
    ...environmentLabels(engine, env),
    [LABEL.workload]: name,
    [LABEL.deployment]: String(desired.deployment),
    [LABEL.specHash]: desired.specHash,
    [LABEL.instance]: instanceId,
    [LABEL.layout]: JSON.stringify(layout),
  };
  // Every service port, and every port an HTTP probe checks, is published on 127.0.0.1 only.
  const exposed: Record<string, object> = {};
  for (const spec of Object.values(desired.ports))
    exposed[`${spec.targetPort}/${spec.protocol.toLowerCase()}`] = {};
  for (const spec of Object.values(desired.containers)) {
    for (const probe of [spec.readinessProbe, spec.livenessProbe]) {
      if (probe?.httpGet !== undefined && probe.httpGet.host === undefined)
        exposed[`${probe.httpGet.port}/tcp`] = {};
    }
  }
  const bindings = Object.fromEntries(
    Object.keys(exposed).map((port) => [port, [{ HostIp: '127.0.0.1', HostPort: '' }]]),
  );
  const owner = {
    Hostname: name,
    ExposedPorts: exposed,
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: alias ? [name] : [] } } },
  };
  const instance: Instance = {
    env,
    workload: name,
    id: instanceId,
    deployment: desired.deployment,
    specHash: desired.specHash,
    layout,
    containers: new Map(),
    images: new Map(),
    created: Math.floor(Date.now() / 1000),
  };
  const where = `workload "${name}"`;
  try {
    await createContainers(engine, desired, instance, order, resolved, sandboxImage, {
      labels,
      owner,
      bindings,
      network,
      where,
      started,
    });
  } catch (error) {
    await engine.removeInstance(instance).catch(() => undefined);
    throw error;
  }
  return { instance, started };
}

async function createContainers(
  engine: Engine,
  desired: RenderedWorkload,
  instance: Instance,
  order: string[],
  resolved: Map<string, ResolvedImage>,
  sandboxImage: ResolvedImage | undefined,
  common: {
    labels: Record<string, string>;
    owner: Pick<Docker.ContainerCreateOptions, 'Hostname' | 'ExposedPorts' | 'NetworkingConfig'>;
    bindings: Docker.PortMap;
    network: string;
    where: string;
    started: string[];
  },
): Promise<void> {
  const { labels, owner, bindings, network, where, started } = common;
  const { env, id: instanceId } = instance;
  const name = desired.name;
  if (sandboxImage !== undefined) {
    try {
      const sandbox = await createAndStart(
        engine,
        `${where}: its sandbox container`,
        () =>
          engine.docker.createContainer({
            name: sandboxName(env, name, instanceId),
            Image: sandboxImage.image,
            Entrypoint: [SANDBOX_COMMAND[0] ?? 'sleep'],
            Cmd: SANDBOX_COMMAND.slice(1),
            Labels: { ...labels, [LABEL.role]: 'sandbox' },
            ...owner,
            HostConfig: {
              Init: true,
              NetworkMode: network,
              PortBindings: bindings,
              RestartPolicy: { Name: 'no' },
            },
          }),
        async () => undefined,
      );
      instance.sandbox = sandbox.id;
    } catch (error) {
      throw new PavedError(
        'TARGET_FAILED',
        `${where}: the sandbox container that holds its containers' shared network could not start from image "${sandboxImage.reference}" (${engineMessage(error instanceof PavedError && error.cause !== undefined ? error.cause : error)}); set the docker target's sandboxImage to an image that has \`sleep\` (e.g. busybox)`,
        { cause: error },
      );
    }
  }
  for (const container of order) {
    const spec = desired.containers[container];
    const image = resolved.get(container);
    if (spec === undefined || image === undefined) continue;
    const at = `${where} container "${container}"`;
    const create = (): Promise<Docker.Container> =>
      engine.docker.createContainer({
        name: containerName(env, name, container, instanceId),
        Image: image.image,
        ...(spec.command === undefined ? {} : { Entrypoint: spec.command, Cmd: spec.args ?? [] }),
        ...(spec.command === undefined && spec.args !== undefined ? { Cmd: spec.args } : {}),
        Env: Object.entries(spec.variables).map(([variable, value]) => `${variable}=${value}`),
        Labels: {
          ...labels,
          [LABEL.container]: container,
          [LABEL.image]: image.reference,
          [LABEL.digest]: image.digest,
        },
        StopTimeout: engine.graceSeconds,
        ...(instance.sandbox === undefined ? owner : {}),
        HostConfig: {
          Init: true,
          // A release-phase container (others wait for it to complete) that fails is not run
          // again: it may have done half its work (a migration); the deployment fails instead.
          RestartPolicy: instance.layout.completes.includes(container)
            ? { Name: 'no' }
            : { Name: 'on-failure', MaximumRetryCount: 0 },
          NetworkMode: instance.sandbox === undefined ? network : `container:${instance.sandbox}`,
          ...(instance.sandbox === undefined ? { PortBindings: bindings } : {}),
          Mounts: spec.volumes.map((volume) => ({
            Type: 'volume' as const,
            Source: volume.source,
            Target: volume.target,
            ReadOnly: volume.readOnly,
          })),
          ...limits(spec),
        },
      });
    const putFiles = async (created: Docker.Container): Promise<void> => {
      if (spec.files.length === 0) return;
      const fileOwner = await resolveOwner(image.user, (path) => readContainerFile(created, path), at);
      const archive = filesArchive(spec.files, {
        workingDir: image.workingDir,
        owner: fileOwner,
        where: at,
      });
      await engine.call(`${at}: putting its files into the container`, () =>
        created.putArchive(archive, { path: '/' }),
      );
    };
    instance.images.set(container, { reference: image.reference, digest: image.digest });
    if (instance.sandbox === undefined) {
      // A single container owns its namespace and waits for nothing: it starts right away.
      instance.containers.set(container, (await createAndStart(engine, at, create, putFiles)).id);
      started.push(container);
    } else {
      const created = await engine.call(`${at}: creating the container`, create);
      instance.containers.set(container, created.id);
      await putFiles(created);
    }
  }
}

/**
 * Creates a container that publishes ports, prepares and starts it. The engine picks the random
 * host ports at creation but binds them only at start; when something else took one in between,
 * the start fails with "address already in use" and the container is created again.
 */
async function createAndStart(
  engine: Engine,
  where: string,
  create: () => Promise<Docker.Container>,
  prepare: (container: Docker.Container) => Promise<void>,
): Promise<Docker.Container> {
  for (let attempt = 1; ; attempt += 1) {
    const container = await engine.call(`${where}: creating the container`, create);
    try {
      await prepare(container);
      await container.start();
      return container;
    } catch (error) {
      await engine.removeContainer(container.id).catch(() => undefined);
      if (attempt < 3 && /address already in use/i.test(engineMessage(error))) continue;
      if (error instanceof PavedError) throw error;
      throw new PavedError('TARGET_FAILED', `${where} could not start: ${engineMessage(error)}`, {
        cause: error,
      });
    }
  }
}

function limits(spec: RenderedContainer): { Memory?: number; NanoCpus?: number } {
  const memory = spec.limits?.memory === undefined ? undefined : memoryBytes(spec.limits.memory);
  const cpus = spec.limits?.cpu === undefined ? undefined : nanoCpus(spec.limits.cpu);
  return {
    ...(memory === undefined ? {} : { Memory: memory }),
    ...(cpus === undefined ? {} : { NanoCpus: cpus }),
  };
}

/** A file's text from a created (not necessarily started) container, undefined when absent. */
async function readContainerFile(container: Docker.Container, path: string): Promise<string | undefined> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await container.getArchive({ path });
  } catch {
    return undefined;
  }
  return firstFileOfTar(stream);
}
