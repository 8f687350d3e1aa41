/**
 * A capability container targets offer resource drivers: one long-running server container per
 * resource (a dedicated PostgreSQL, Redis, …) in the environment's network, with a named volume
 * for its data. The `container` driver provisions through it; the docker target implements it
 * (`DockerRuntime.resourceContainers`), and the server hands it to drivers in
 * `ProvisionContext.containers` for environments on such a target. Drivers themselves never talk
 * to a container engine.
 */
import type { EnvironmentRef } from './runtime.js';

/** The server container one resource gets. */
export interface ResourceContainerSpec {
  /** The resource's uid (`<type>.<class>#<id>`), labelled on the container and its volume. */
  resource: string;
  /**
   * The container's name, which is also its DNS alias in the environment's network (what
   * workloads connect to): a DNS label, unique per environment, stable for the resource.
   */
  name: string;
  /** Image reference; the target pulls it only when the engine does not have it. */
  image: string;
  /** Replaces the image's command (`Cmd`), keeping its entrypoint. */
  command?: string[];
  /**
   * The environment at create (secret values included: the images' documented way to take
   * credentials). Never put in labels, logs or errors; a running container keeps the one it was
   * created with.
   */
  env: Record<string, string>;
  /** The TCP port the server listens on inside the container (workloads connect to it). */
  port: number;
  /** The named volume holding the data, mounted at `target`; it outlives the container. */
  volume: { name: string; target: string };
}

/** A server container as the target runs it. */
export interface ResourceContainer {
  name: string;
  /** What workloads of the environment connect to: the container's network alias. */
  hostname: string;
  /**
   * Where the Paved server itself reaches the server port: a port the target published on the
   * loopback interface, for readiness checks (workloads never use it).
   */
  published: { host: string; port: number };
  /** Whether this call created the container (else it was there and is adopted). */
  created: boolean;
  /** Whether the data volume existed before this call (data from an earlier container). */
  volumeExisted: boolean;
  /**
   * The environment the container runs with: for an adopted one, what it was created with, so a
   * provisioning that lost the credentials it generated (a crash before they were recorded)
   * finds them again.
   */
  environment: Record<string, string>;
}

/** What the target sees of a server container now. */
export interface ResourceContainerState {
  running: boolean;
  /** The engine's status word: `running`, `exited`, `restarting`, … */
  status: string;
  exitCode?: number;
  restarts: number;
}

export interface ResourceContainers {
  /**
   * Makes the container run: adopts the one of that name the target made for this resource
   * (started again when stopped, re-created with the same volume when its image, command, port
   * or volume changed), creates it (and its volume) when missing. Resolves once the container
   * runs and its port is published, not when the server in it accepts connections: checking that
   * is the driver's part, in the server's own protocol.
   *
   * @throws PavedError CONFLICT when a container or volume of that name belongs to something else.
   */
  ensure(env: EnvironmentRef, spec: ResourceContainerSpec, signal: AbortSignal): Promise<ResourceContainer>;
  /** The container's state, or undefined when it does not exist. */
  inspect(env: EnvironmentRef, name: string): Promise<ResourceContainerState | undefined>;
  /** The container's last log lines (stdout and stderr), for errors when it never becomes ready. */
  logTail(env: EnvironmentRef, name: string, lines: number): Promise<string[]>;
  /**
   * Writes a tar archive of the data volume's files to `file` (created, mode 0600), before a
   * deprovisioning removes them: the resource's container is removed first (the volume stays), so
   * the server's files are at rest, and a container that is never started (from the container's
   * image, else `image`) mounts the volume read-only for the copy. Answers the archive's size, or
   * undefined when there is no such volume (nothing to keep). A failure leaves no file and the
   * volume as it was; `ensure` makes the container again on it.
   */
  snapshot(
    env: EnvironmentRef,
    names: { container: string; volume: string },
    source: { path: string; image: string },
    file: string,
    signal: AbortSignal,
  ): Promise<{ bytes: number } | undefined>;
  /**
   * Removes the container, then its data volume. What is already gone is fine; objects of those
   * names the target did not make for this environment are left alone.
   */
  remove(
    env: EnvironmentRef,
    names: { container: string; volume: string },
    signal: AbortSignal,
  ): Promise<void>;
}
