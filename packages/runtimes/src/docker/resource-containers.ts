/**
 * The docker target's side of `ResourceContainers` (core): one server container per resource of
 * the `container` driver, in the environment's network under the resource's alias, its data in a
 * named volume, its port published on 127.0.0.1 (a random host port) so that the driver, in the
 * Paved server, can check the server answers in its own protocol. No `exec`: on Podman every exec
 * leaves a conmon process behind.
 *
 * Both objects carry the environment's labels plus `dev.paved.resource=<uid>`: environment
 * deletion removes the container with the workloads' (and the volume only with --delete-data), and
 * an object of the same name without those labels is never touched. Workload adoption ignores
 * these containers, which have no instance labels.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import {
  DNS_LABEL,
  PavedError,
  type EnvironmentRef,
  type ResourceContainer,
  type ResourceContainers,
  type ResourceContainerSpec,
  type ResourceContainerState,
} from '@paved/core';
import { readContainerLogs } from './container-logs.js';
import { environmentLabels, isOwned, LABEL, networkName } from './docker-labels.js';
import { engineStatus, isNotFound } from './engine-errors.js';
import type { Engine } from './engine.js';
import { ensureNetwork } from './environment-objects.js';
import type { ImageResolver } from './image-resolver.js';
import { collectPorts } from './instance-watch.js';

/** On a resource's container and volume: the resource's uid. */
export const RESOURCE_LABEL = 'dev.paved.resource';

/** Attempts at creating a container whose random host port was taken between create and start. */
const START_ATTEMPTS = 3;

export class DockerResourceContainers implements ResourceContainers {
  readonly #engine: Engine;
  readonly #images: ImageResolver;

  constructor(engine: Engine, images: ImageResolver) {
    this.#engine = engine;
    this.#images = images;
  }

  async ensure(
    env: EnvironmentRef,
    spec: ResourceContainerSpec,
    signal: AbortSignal,
  ): Promise<ResourceContainer> {
    checkNames(env, spec.name);
    const where = `docker target "${this.#engine.target}": container "${spec.name}" of resource "${spec.resource}" in ${env.app}/${env.env}`;
    try {
      signal.throwIfAborted();
      // The resources of a deployment are provisioned concurrently: Podman answers a network
      // created meanwhile with a 500 ("already exists"), which a second look finds to be ours.
      await ensureNetwork(this.#engine, env).catch(() => ensureNetwork(this.#engine, env));
      const volumeExisted = await this.#ensureVolume(env, spec, where);
      signal.throwIfAborted();
      const image = await this.#images.resolve(
        env,
        spec.name,
        'server',
        { image: spec.image, variables: {}, secretVariables: [], files: [], volumes: [], before: {} },
        () => undefined,
        signal,
      );
      const hash = specHash(spec, image.digest);
      let info = await this.#owned(env, spec.name, where, spec.resource);
      if (info !== undefined && info.Config.Labels[LABEL.specHash] !== hash) {
        // Image, command, port or volume changed: a new container on the same data.
        await this.#engine.removeContainer(info.Id);
        info = undefined;
      }
      let created = false;
      if (info === undefined) {
        signal.throwIfAborted();
        info = await this.#create(env, spec, image.image, image.reference, image.digest, hash, where);
        created = true;
      } else if (!info.State.Running || info.State.Paused) {
        const id = info.Id;
        await this.#engine.call(`${where}: starting it again`, () =>
          info?.State.Paused === true
            ? this.#engine.docker.getContainer(id).unpause()
            : this.#engine.docker.getContainer(id).start(),
        );
        info = await this.#inspectOrFail(id, where);
      }
      const published = new Map<string, number>();
      collectPorts(info, published);
      const port = published.get(`${spec.port}/tcp`);
      if (port === undefined) {
        throw new PavedError(
          'TARGET_FAILED',
          `${where}: the engine published no host port for port ${spec.port}; remove the container (paved resources delete) and deploy again`,
        );
      }
      return {
        name: spec.name,
        hostname: spec.name,
        published: { host: '127.0.0.1', port },
        created,
        volumeExisted,
        environment: environmentOf(info),
      };
    } catch (error) {
      throw scrubbed(error, spec.env);
    }
  }

  async inspect(env: EnvironmentRef, name: string): Promise<ResourceContainerState | undefined> {
    checkNames(env, name);
    const info = await this.#owned(env, name, `container "${name}" in ${env.app}/${env.env}`);
    if (info === undefined) return undefined;
    return {
      running: info.State.Running && !info.State.Restarting,
      status: info.State.Status,
      ...(info.State.Running ? {} : { exitCode: info.State.ExitCode }),
      restarts: info.RestartCount,
    };
  }

  async snapshot(
    env: EnvironmentRef,
    names: { container: string; volume: string },
    source: { path: string; image: string },
    file: string,
    signal: AbortSignal,
  ): Promise<{ bytes: number } | undefined> {
    checkNames(env, names.container);
    signal.throwIfAborted();
    const where = `docker target "${this.#engine.target}": snapshot of volume "${names.volume}" of ${env.app}/${env.env}`;
    let volume: Docker.VolumeInspectInfo;
    try {
      volume = await this.#engine.docker.getVolume(names.volume).inspect();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.#engine.error(`${where}: looking up the volume`, error);
    }
    if (!isOwned(volume.Labels, this.#engine, env)) return undefined;
    // At rest: the server's container is removed first (the named volume stays), so nothing
    // writes while the files are copied, and a crash-looping server cannot be restarted by its
    // restart policy halfway through the copy. A container that is never started reads the volume.
    const info = await this.#owned(env, names.container, where);
    let image: string;
    if (info !== undefined) {
      image = info.Image;
      await this.#engine.removeContainer(info.Id);
    } else {
      image = (
        await this.#images.resolve(
          env,
          names.container,
          'server',
          { image: source.image, variables: {}, secretVariables: [], files: [], volumes: [], before: {} },
          () => undefined,
          signal,
        )
      ).image;
    }
    signal.throwIfAborted();
    const reader = await this.#engine.call(`${where}: creating a container to read the volume`, () =>
      this.#engine.docker.createContainer({
        name: `${names.container}-snapshot-${randomBytes(3).toString('hex')}`,
        Image: image,
        // Never run; Podman still wants a command for an image that names none.
        Cmd: ['true'],
        Labels: environmentLabels(this.#engine, env),
        HostConfig: {
          NetworkMode: 'none',
          Mounts: [{ Type: 'volume', Source: names.volume, Target: source.path, ReadOnly: true }],
        },
      }),
    );
    try {
      signal.throwIfAborted();
      const archive = await this.#engine.call(`${where}: reading ${source.path}`, () =>
        reader.getArchive({ path: source.path }),
      );
      await pipeline(archive, createWriteStream(file, { flags: 'wx', mode: 0o600 }), { signal });
      return { bytes: (await stat(file)).size };
    } catch (error) {
      await rm(file, { force: true });
      if (error instanceof PavedError) throw error;
      throw this.#engine.error(`${where}: writing ${file}`, error);
    } finally {
      await this.#engine.removeContainer(reader.id);
    }
  }

  async logTail(env: EnvironmentRef, name: string, lines: number): Promise<string[]> {
    checkNames(env, name);
    const info = await this.#owned(env, name, `container "${name}" in ${env.app}/${env.env}`);
    if (info === undefined) return [];
    const read = await readContainerLogs(this.#engine, name, info.Id, { tail: lines });
    return read.map((line) => line.line);
  }

  async remove(
    env: EnvironmentRef,
    names: { container: string; volume: string },
    signal: AbortSignal,
  ): Promise<void> {
    checkNames(env, names.container);
    signal.throwIfAborted();
    const where = `docker target "${this.#engine.target}": removing container "${names.container}" of ${env.app}/${env.env}`;
    const info = await this.#engine.inspectContainer(names.container);
    if (info !== undefined && isOwned(info.Config.Labels, this.#engine, env)) {
      await this.#engine.removeContainer(info.Id);
    }
    signal.throwIfAborted();
    let volume: Docker.VolumeInspectInfo;
    try {
      volume = await this.#engine.docker.getVolume(names.volume).inspect();
    } catch (error) {
      if (isNotFound(error)) return;
      throw this.#engine.error(`${where}: looking up volume "${names.volume}"`, error);
    }
    if (!isOwned(volume.Labels, this.#engine, env)) return;
    try {
      await this.#engine.docker.getVolume(names.volume).remove();
    } catch (error) {
      if (isNotFound(error)) return;
      throw this.#engine.error(
        `${where}: removing its data volume "${names.volume}" (still mounted by another container?)`,
        error,
      );
    }
  }

  /** The named volume, created with the resource's labels when missing; whether it existed. */
  async #ensureVolume(env: EnvironmentRef, spec: ResourceContainerSpec, where: string): Promise<boolean> {
    const name = spec.volume.name;
    try {
      const info = await this.#engine.docker.getVolume(name).inspect();
      if (!isOwned(info.Labels, this.#engine, env) || info.Labels[RESOURCE_LABEL] !== spec.resource) {
        throw new PavedError(
          'CONFLICT',
          `${where}: volume "${name}" already exists on the engine and was not made by docker target "${this.#engine.target}" for this resource; Paved does not mount what it does not own — remove or rename that volume`,
        );
      }
      return true;
    } catch (error) {
      if (!isNotFound(error)) throw this.#engine.error(`${where}: looking up volume "${name}"`, error);
    }
    await this.#engine.call(`${where}: creating volume "${name}"`, () =>
      this.#engine.docker.createVolume({
        Name: name,
        Labels: {
          ...environmentLabels(this.#engine, env),
          [RESOURCE_LABEL]: spec.resource,
          [LABEL.volume]: name,
        },
      }),
    );
    return false;
  }

  /**
   * The container of that name when this target made it for the environment (and for `resource`,
   * when given); undefined when there is none. One made by anyone else is a CONFLICT.
   */
  async #owned(
    env: EnvironmentRef,
    name: string,
    where: string,
    resource?: string,
  ): Promise<Docker.ContainerInspectInfo | undefined> {
    const info = await this.#engine.inspectContainer(name);
    if (info === undefined) return undefined;
    const labels = info.Config.Labels;
    if (
      !isOwned(labels, this.#engine, env) ||
      labels[RESOURCE_LABEL] === undefined ||
      (resource !== undefined && labels[RESOURCE_LABEL] !== resource)
    ) {
      throw new PavedError(
        'CONFLICT',
        `${where}: a container named "${name}" already exists and was not made by docker target "${this.#engine.target}" for this resource; Paved never touches it — remove or rename it`,
      );
    }
    return info;
  }

  async #create(
    env: EnvironmentRef,
    spec: ResourceContainerSpec,
    image: string,
    reference: string,
    digest: string,
    hash: string,
    where: string,
  ): Promise<Docker.ContainerInspectInfo> {
    const network = networkName(env);
    const port = `${spec.port}/tcp`;
    const options: Docker.ContainerCreateOptions = {
      name: spec.name,
      Hostname: spec.name,
      Image: image,
      ...(spec.command === undefined ? {} : { Cmd: spec.command }),
      Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      Labels: {
        ...environmentLabels(this.#engine, env),
        [RESOURCE_LABEL]: spec.resource,
        [LABEL.image]: reference,
        [LABEL.digest]: digest,
        [LABEL.specHash]: hash,
      },
      ExposedPorts: { [port]: {} },
      StopTimeout: this.#engine.graceSeconds,
      HostConfig: {
        NetworkMode: network,
        PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
        Mounts: [{ Type: 'volume', Source: spec.volume.name, Target: spec.volume.target }],
        // Started again after a crash or an engine restart; `docker stop` is respected.
        RestartPolicy: { Name: 'unless-stopped' },
      },
      NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [spec.name] } } },
    };
    for (let attempt = 1; ; attempt += 1) {
      let container: Docker.Container;
      try {
        container = await this.#engine.docker.createContainer(options);
      } catch (error) {
        // Created meanwhile by a concurrent provisioning of the same resource: adopt it.
        if (engineStatus(error) === 409) {
          const info = await this.#owned(env, spec.name, where, spec.resource);
          if (info !== undefined) return info;
        }
        throw this.#engine.error(`${where}: creating it from image "${reference}"`, error);
      }
      try {
        await container.start();
        return await this.#inspectOrFail(container.id, where);
      } catch (error) {
        await this.#engine.removeContainer(container.id).catch(() => undefined);
        // The random host port was taken between create and start: a new container gets another.
        const taken = /address already in use/i.test(String((error as Error).message));
        if (!taken || attempt >= START_ATTEMPTS) {
          throw this.#engine.error(`${where}: starting it`, error);
        }
      }
    }
  }

  async #inspectOrFail(id: string, where: string): Promise<Docker.ContainerInspectInfo> {
    const info = await this.#engine.inspectContainer(id);
    if (info === undefined) {
      throw new PavedError('TARGET_FAILED', `${where}: the container vanished right after it started`);
    }
    return info;
  }
}

/**
 * What decides whether an adopted container still fits: everything but the environment's values,
 * whose names are enough (the credentials stay the same for the life of the data).
 */
function specHash(spec: ResourceContainerSpec, digest: string): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        spec.image,
        digest,
        spec.command ?? null,
        spec.port,
        spec.volume,
        Object.keys(spec.env).sort(),
      ]),
    )
    .digest('hex')
    .slice(0, 32);
}

function environmentOf(info: Docker.ContainerInspectInfo): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const entry of info.Config.Env ?? []) {
    const at = entry.indexOf('=');
    if (at > 0) environment[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return environment;
}

function checkNames(env: EnvironmentRef, name: string): void {
  if (!DNS_LABEL.test(env.app) || !DNS_LABEL.test(env.env) || !DNS_LABEL.test(name)) {
    throw new PavedError(
      'INVALID_INPUT',
      `resource container "${name}" of ${env.app}/${env.env}: app, environment and container names must be DNS labels`,
    );
  }
}

/** Environment variables whose values are credentials (POSTGRES_PASSWORD, RABBITMQ_ERLANG_COOKIE, …). */
const SECRET_VARIABLE = /PASS|SECRET|TOKEN|COOKIE|KEY/i;

/** The error with the credentials of the container's environment masked. */
function scrubbed(error: unknown, env: Record<string, string>): unknown {
  if (!(error instanceof Error)) return error;
  const values = Object.entries(env)
    .filter(([key, value]) => SECRET_VARIABLE.test(key) && value.length >= 4)
    .map(([, value]) => value);
  if (!values.some((value) => error.message.includes(value))) return error;
  let message = error.message;
  for (const value of values) message = message.split(value).join('***');
  return error instanceof PavedError
    ? new PavedError(error.code, message, error.details === undefined ? {} : { details: error.details })
    : new Error(message);
}
