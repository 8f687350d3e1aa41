/**
 * The container engine as the docker target uses it: dockerode plus the target's name and address,
 * so that every failure becomes a PavedError naming what was being done (`engine-errors.ts`), and
 * the few operations on containers and instances that several parts of the target share.
 */
import type Docker from 'dockerode';
import { instanceContainerIds, type Instance } from './docker-instance.js';
import { isOwned, LABEL, labelFilter, type Owner } from './docker-labels.js';
import { engineError, engineStatus, isNotFound } from './engine-errors.js';
import { collectPorts } from './instance-watch.js';

export class Engine implements Owner {
  readonly docker: Docker;
  /** The target's name, in every label. */
  readonly target: string;
  /** The installation (the server's store id), in every label when given. */
  readonly installation: string | undefined;
  /** The engine's address, for error messages. */
  readonly host: string;
  /** SIGTERM → SIGKILL delay, in the engine's unit (whole seconds). */
  readonly graceSeconds: number;

  constructor(docker: Docker, owner: Owner, host: string, graceMs: number) {
    this.docker = docker;
    this.target = owner.target;
    this.installation = owner.installation;
    this.host = host;
    this.graceSeconds = Math.ceil(graceMs / 1000);
  }

  /** Runs an engine call; a failure becomes a PavedError saying `what` was being done. */
  async call<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw this.error(what, error);
    }
  }

  error(what: string, error: unknown): Error {
    return engineError(this.target, this.host, what, error);
  }

  /**
   * Every container (running or not) of this target and installation carrying the `selector`
   * labels (e.g. an environment's app and env). Another installation's containers under the same
   * target name are left out here, as the engine's filters cannot express it.
   */
  async listContainers(what: string, selector: Record<string, string> = {}): Promise<Docker.ContainerInfo[]> {
    const list = await this.call(what, () =>
      this.docker.listContainers({
        all: true,
        filters: labelFilter({ ...selector, [LABEL.target]: this.target }),
      }),
    );
    return list.filter((info) => isOwned(info.Labels, this));
  }

  async inspectContainer(idOrName: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(idOrName).inspect();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.error(`inspecting container ${idOrName}`, error);
    }
  }

  /** Stops a container (SIGTERM, SIGKILL after the grace period) and removes it; gone is fine. */
  async removeContainer(id: string): Promise<void> {
    const container = this.docker.getContainer(id);
    try {
      await container.stop({ t: this.graceSeconds });
    } catch (error) {
      const status = engineStatus(error);
      if (status === 404) return;
      if (status !== 304) throw this.error(`stopping container ${id.slice(0, 12)}`, error);
    }
    try {
      await container.remove({ force: true, v: true });
    } catch (error) {
      if (!isNotFound(error)) throw this.error(`removing container ${id.slice(0, 12)}`, error);
    }
  }

  /** Removes an instance: its containers (in parallel), then the sandbox they joined. */
  async removeInstance(instance: Instance): Promise<void> {
    await Promise.all([...instance.containers.values()].map((id) => this.removeContainer(id)));
    if (instance.sandbox !== undefined) await this.removeContainer(instance.sandbox);
  }

  /** Whether every container of the instance runs (or completed, for run-to-completion ones). */
  async isRunning(instance: Instance): Promise<boolean> {
    const completes = new Set(instance.layout.completes);
    for (const id of instanceContainerIds(instance)) {
      const info = await this.inspectContainer(id);
      if (info === undefined) return false;
      const name = info.Config?.Labels?.[LABEL.container];
      const completed =
        name !== undefined &&
        completes.has(name) &&
        info.State.Status === 'exited' &&
        info.State.ExitCode === 0;
      if (!info.State.Running && !info.State.Restarting && !completed) return false;
    }
    return instance.layout.containers.every((name) => instance.containers.has(name));
  }

  /** The host ports the instance's network namespace owner publishes, by `<port>/<protocol>`. */
  async publishedPorts(instance: Instance): Promise<Map<string, number>> {
    const published = new Map<string, number>();
    const owner = instance.sandbox ?? instance.containers.get(instance.layout.containers[0] ?? '');
    const info = owner === undefined ? undefined : await this.inspectContainer(owner);
    if (info !== undefined) collectPorts(info, published);
    return published;
  }

  /** The instance's IP address in the network `network` (its namespace owner's), if it has one. */
  async networkAddress(instance: Instance, network: string): Promise<string | undefined> {
    const owner = instance.sandbox ?? instance.containers.get(instance.layout.containers[0] ?? '');
    const info = owner === undefined ? undefined : await this.inspectContainer(owner);
    const address = info?.NetworkSettings.Networks[network]?.IPAddress;
    return address === undefined || address === '' ? undefined : address;
  }
}

/** A pause that ends early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
