/**
 * Which runtime runs an environment: resolves a target name to a `Runtime`, from the targets the
 * platform team applied (`kind: Target`, in the store) and the built-in ones (`process`, and
 * `docker` when an engine was found at start). Runtimes of other kinds come from factories the
 * server is started with, one per target name and version, created and `init()`ed on first use
 * and closed with the server.
 */
import { PavedError, type Runtime } from '@paved/core';
import type { SecretReference, Store, StoredTarget, TargetType } from '@paved/store';
import type { Logger } from 'pino';
import type { SecretBox } from '../secrets/secret-box.js';
import { describeDockerDetection } from './docker-host.js';
import {
  DOCKER_TARGET,
  PROCESS_TARGET,
  registryPasswordPath,
  type DockerSettings,
} from './target-settings.js';

/** What a docker runtime is made from: the target's host and registry credentials, secrets opened. */
export interface DockerTargetConfig {
  name: string;
  /** `unix:///path` or `tcp://host:port`: the configured host, else the one auto-detected at start. */
  host: string;
  /** Registry server → credentials for pulling (and pushing) images. */
  registries: Record<string, { username: string; password: string }>;
  /** `spec.docker.nodeImage` and `spec.docker.sandboxImage`, when the target sets them. */
  nodeImage?: string;
  sandboxImage?: string;
}

/** How the server makes runtimes for targets other than `process`; absent kinds are unavailable. */
export interface RuntimeFactories {
  docker?: (target: DockerTargetConfig) => Runtime;
}

/** A target as the server knows it: applied by the platform team, or built in. */
export interface KnownTarget {
  name: string;
  type: TargetType;
  /** `process`, and `docker` when an engine was found at start; never stored. */
  builtIn: boolean;
  /** The applied version; absent for built-in targets. */
  version?: number;
  /** The settings of its type without secrets (see `target-settings.ts`). */
  settings: Record<string, unknown>;
  /** Sealed secrets by path, e.g. `registries.<server>.password`. */
  secrets: Record<string, string>;
  secretRefs: Record<string, SecretReference>;
  createdAt?: string;
  createdBy?: string;
}

export interface TargetAvailability {
  available: boolean;
  /** Why not, and what to do. */
  reason?: string;
}

export interface TargetRuntimesOptions {
  store: Store;
  secrets: SecretBox;
  /** The runtime of `process` (and of applied targets of type process); without it they are unavailable. */
  process?: Runtime;
  factories?: RuntimeFactories;
  /** The Docker host found at start (`detectDockerHost`); the built-in `docker` target exists when set. */
  detectedDockerHost?: string;
  logger?: Logger;
}

/** The subset of `TargetRuntimes` the deployment engine needs. */
export interface RuntimeResolver {
  /** @throws PavedError NOT_FOUND for an unknown target, UNAVAILABLE for one this server cannot run. */
  runtime(target: string): Promise<Runtime>;
}

/**
 * Resolves targets to runtimes. One instance per server.
 *
 * @example
 * const targets = new TargetRuntimes({ store, secrets, process: processRuntime, factories: { docker: (t) => new DockerRuntime(t) } });
 * const runtime = await targets.runtime(environment.target);
 */
export class TargetRuntimes implements RuntimeResolver {
  readonly #options: TargetRuntimesOptions;
  /** Runtimes made by a factory, by `name@version`; a changed target gets a new one. */
  readonly #created = new Map<string, Promise<Runtime>>();
  #closed = false;

  constructor(options: TargetRuntimesOptions) {
    this.#options = options;
  }

  /** The built-in targets: `process` always, `docker` when an engine was found at start. */
  builtIns(): KnownTarget[] {
    const builtIn = (name: string, type: TargetType, settings: Record<string, unknown>): KnownTarget => ({
      name,
      type,
      builtIn: true,
      settings,
      secrets: {},
      secretRefs: {},
    });
    const host = this.#options.detectedDockerHost;
    return [
      builtIn(PROCESS_TARGET, 'process', {}),
      ...(host === undefined ? [] : [builtIn(DOCKER_TARGET, 'docker', {})]),
    ];
  }

  /** The Docker host found at start, used by docker targets that name none. */
  get detectedDockerHost(): string | undefined {
    return this.#options.detectedDockerHost;
  }

  /**
   * Every target, by name: the applied ones, and the built-in ones no applied target replaces.
   * `store` may be a transaction's.
   */
  async list(store: Store = this.#options.store): Promise<KnownTarget[]> {
    const applied = (await store.targets.list()).map(fromStored);
    const names = new Set(applied.map((target) => target.name));
    return [...this.builtIns().filter((target) => !names.has(target.name)), ...applied].sort((a, b) =>
      a.name.localeCompare(b.name),
    );
  }

  async get(name: string, store: Store = this.#options.store): Promise<KnownTarget | undefined> {
    const applied = await store.targets.get(name);
    if (applied !== undefined) return fromStored(applied);
    return this.builtIns().find((target) => target.name === name);
  }

  async names(store: Store = this.#options.store): Promise<string[]> {
    return (await this.list(store)).map((target) => target.name);
  }

  /** Whether this server can run workloads on the target, and if not why; creates nothing. */
  availability(target: KnownTarget): TargetAvailability {
    try {
      this.#check(target);
      return { available: true };
    } catch (error) {
      return { available: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /**
   * The runtime of a target: the process runtime, or one made by the factory of its type for
   * this version of the target (initialised the first time).
   */
  async runtime(name: string): Promise<Runtime> {
    const target = await this.get(name);
    if (target === undefined) {
      const names = await this.names();
      throw new PavedError(
        'NOT_FOUND',
        `target "${name}" does not exist; the targets are ${names.join(', ')} (paved targets list)`,
        { details: { target: name, targets: names } },
      );
    }
    const how = this.#check(target);
    if (how.kind === 'process') return how.runtime;
    if (this.#closed) {
      throw new PavedError('UNAVAILABLE', `target "${name}" cannot be used: the server is shutting down`);
    }
    const key = `${target.name}@${target.version ?? 'built-in'}`;
    let created = this.#created.get(key);
    if (created === undefined) {
      // Two runtimes of one target would both supervise its containers and fight over its stable
      // ports: the runtime of an earlier version is closed first (its workloads keep running and
      // the new one adopts them by their labels).
      for (const [other, earlier] of this.#created) {
        if (!other.startsWith(`${target.name}@`)) continue;
        this.#created.delete(other);
        await earlier.then((runtime) => runtime.close?.()).catch(() => undefined);
      }
      created = this.#create(target, how.factory, how.host);
      this.#created.set(key, created);
      // A runtime that failed to start is not kept: the next use tries again.
      created.catch(() => this.#created.delete(key));
    }
    return created;
  }

  /** Closes every runtime made here (workloads keep running); later resolutions fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const runtimes = await Promise.allSettled([...this.#created.values()]);
    this.#created.clear();
    for (const result of runtimes) {
      if (result.status !== 'fulfilled') continue;
      try {
        await result.value.close?.();
      } catch (error) {
        this.#options.logger?.warn({ err: error }, 'closing a target runtime failed');
      }
    }
  }

  /** How the target runs here; throws UNAVAILABLE naming what is missing when it cannot. */
  #check(
    target: KnownTarget,
  ):
    | { kind: 'process'; runtime: Runtime }
    | { kind: 'docker'; factory: (config: DockerTargetConfig) => Runtime; host: string } {
    switch (target.type) {
      case 'process': {
        const runtime = this.#options.process;
        if (runtime === undefined) {
          throw new PavedError(
            'UNAVAILABLE',
            `the process target is not available in this server: it was built without a data directory; start it with paved server`,
            { details: { target: target.name } },
          );
        }
        return { kind: 'process', runtime };
      }
      case 'docker': {
        const factory = this.#options.factories?.docker;
        if (factory === undefined) {
          throw new PavedError(
            'UNAVAILABLE',
            `the docker target is not available in this server: target "${target.name}" needs the Docker runtime, which this server was started without; use another target (paved targets list)`,
            { details: { target: target.name } },
          );
        }
        const host = (target.settings as DockerSettings).host ?? this.#options.detectedDockerHost;
        if (host === undefined) {
          throw new PavedError(
            'UNAVAILABLE',
            `the docker target is not available in this server: target "${target.name}" names no host and no Docker or Podman engine was found at start (looked at ${describeDockerDetection(process.env)}); set spec.docker.host and apply it again, or start the engine and restart the server`,
            { details: { target: target.name } },
          );
        }
        return { kind: 'docker', factory, host };
      }
      case 'kubernetes':
        throw new PavedError(
          'UNAVAILABLE',
          `target "${target.name}" is a kubernetes target, and this version of Paved has no kubernetes runtime yet: nothing can be deployed to it; create the environment on another target (paved targets list)`,
          { details: { target: target.name } },
        );
    }
  }

  async #create(
    target: KnownTarget,
    factory: (config: DockerTargetConfig) => Runtime,
    host: string,
  ): Promise<Runtime> {
    const settings = target.settings as DockerSettings;
    const registries = Object.fromEntries(
      Object.entries(settings.registries ?? {}).map(([server, { username }]) => {
        const sealed = target.secrets[registryPasswordPath(server)];
        return [
          server,
          { username, password: sealed === undefined ? '' : this.#options.secrets.open(sealed) },
        ];
      }),
    );
    const runtime = factory({
      name: target.name,
      host,
      registries,
      ...(settings.nodeImage === undefined ? {} : { nodeImage: settings.nodeImage }),
      ...(settings.sandboxImage === undefined ? {} : { sandboxImage: settings.sandboxImage }),
    });
    try {
      await runtime.init?.();
    } catch (error) {
      await runtime.close?.().catch(() => undefined);
      if (error instanceof PavedError) throw error;
      throw new PavedError(
        'TARGET_FAILED',
        `target "${target.name}" (docker at ${host}) could not be reached: ${error instanceof Error ? error.message : String(error)}; check that the engine runs, then deploy again`,
        { cause: error, details: { target: target.name } },
      );
    }
    this.#options.logger?.info(
      { target: target.name, version: target.version, host },
      'target runtime started',
    );
    return runtime;
  }
}

function fromStored(target: StoredTarget): KnownTarget {
  return { ...target, builtIn: false };
}
