/**
 * A workload's stable address *inside* its environment's network: one small container per workload
 * (`paved-<app>-<env>-<workload>-address`) that holds the workload's DNS name (the network alias
 * other workloads call, e.g. `http://catalog:8080`) and relays each connection — each request, for
 * HTTP — to the current instance by its address in the network. Instances themselves get no alias,
 * so a name never resolves to an old instance during a replace: the switch is one rewrite of the
 * relay's routes, and the old instance is drained of what the relay still sends it before it stops.
 * This is what a Kubernetes Service does for pods; the Docker API has nothing like it.
 *
 * The relay is the workload port forwarder the process target runs (`process/forwarder.ts`), in an
 * image built on the engine (`service-address-image.ts`). The runtime talks to it through the
 * engine's archive API only: it writes `routes.json` and reads `connections.json` and `state.json`
 * — no port of it is published and nothing is bind-mounted, so it works on a remote engine too.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { PavedError, type EnvironmentRef } from '@paved/core';
import type {
  ForwarderConnections,
  ForwarderRoutes,
  ForwarderSpec,
  ForwarderState,
  ForwarderTarget,
} from '../process/forwarder-spec.js';
import { targetKey } from '../process/forwarder-spec.js';
import { environmentLabels, environmentSelector, LABEL, networkName } from './docker-labels.js';
import { sleep, type Engine } from './engine.js';
import { engineMessage } from './engine-errors.js';
import { filesArchive, firstFileOfTar } from './file-archive.js';
import { ensureServiceAddressImage, type ServiceAddressImageOptions } from './service-address-image.js';

const ROLE = 'service-address';
const RUN_DIR = '/paved/run';
const FILES = {
  spec: `${RUN_DIR}/spec.json`,
  routes: `${RUN_DIR}/routes.json`,
  connections: `${RUN_DIR}/connections.json`,
  state: `${RUN_DIR}/state.json`,
} as const;
/** How long a new address container may take to listen before it counts as failed. */
const LISTEN_TIMEOUT_MS = 15_000;
const DRAIN_POLL_MS = 100;
/** How often a new address container is asked whether it listens yet. */
const LISTEN_POLL_MS = 25;

/** A service port the address listens on: the Score port others call. */
export interface AddressPort {
  name: string;
  port: number;
}

export function serviceAddressName(env: EnvironmentRef, workload: string): string {
  return `paved-${env.app}-${env.env}-${workload}-address`;
}

/** The relay of one workload, as the runtime drives it. */
export class ServiceAddress {
  readonly #engine: Engine;
  readonly id: string;
  readonly workload: string;
  /** The routes last written, to skip writing the same ones again. */
  #routes: string | undefined;

  constructor(engine: Engine, id: string, workload: string) {
    this.#engine = engine;
    this.id = id;
    this.workload = workload;
  }

  /** Sends new connections and requests of each port to its target from now on. */
  async point(instance: string, targets: Record<string, ForwarderTarget>): Promise<void> {
    const routes: ForwarderRoutes<ForwarderTarget> = { instance, targets };
    const text = JSON.stringify(routes);
    if (text === this.#routes) return;
    await putFiles(
      this.#engine,
      this.id,
      { [FILES.routes]: text },
      `workload "${this.workload}": switching its service address`,
    );
    this.#routes = text;
  }

  /** What is still in flight to each of `targets` (connections, requests, tunnels). */
  async open(targets: ForwarderTarget[]): Promise<number> {
    const text = await readFile(this.#engine, this.id, FILES.connections);
    if (text === undefined) return 0;
    let connections: ForwarderConnections;
    try {
      connections = JSON.parse(text) as ForwarderConnections;
    } catch {
      // Read while being rewritten: ask again.
      return Number.POSITIVE_INFINITY;
    }
    return targets.reduce((sum, target) => sum + (connections.open[targetKey(target)] ?? 0), 0);
  }

  /** Waits until nothing is in flight to `targets` or the timeout passed; returns what is left. */
  async drain(targets: ForwarderTarget[], timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = await this.open(targets);
      if (left === 0) return 0;
      if (Date.now() >= deadline) return Number.isFinite(left) ? left : 1;
      await sleep(DRAIN_POLL_MS);
    }
  }
}

/** The service-address containers of a target: created, found again, removed. */
export class ServiceAddresses {
  readonly #engine: Engine;
  readonly #imageOptions: ServiceAddressImageOptions;
  #image: Promise<string> | undefined;

  constructor(engine: Engine, imageOptions: ServiceAddressImageOptions) {
    this.#engine = engine;
    this.#imageOptions = imageOptions;
  }

  /**
   * The workload's address listening on `ports`: the running one when its ports match, else a new
   * one (a changed port set replaces it, which cuts what went through the old one).
   */
  async ensure(
    env: EnvironmentRef,
    workload: string,
    ports: AddressPort[],
  ): Promise<{ address: ServiceAddress; created: boolean }> {
    const where = `workload "${workload}": its service address`;
    const wanted = portsLabel(ports);
    const existing = await this.#find(env, workload);
    if (existing !== undefined) {
      if (existing.Labels[LABEL.addressPorts] === wanted && existing.State === 'running') {
        return { address: new ServiceAddress(this.#engine, existing.Id, workload), created: false };
      }
      await this.#engine.removeContainer(existing.Id);
    }
    this.#image ??= ensureServiceAddressImage(this.#engine, this.#imageOptions).catch((error: unknown) => {
      this.#image = undefined;
      throw error;
    });
    const image = await this.#image;
    const spec: ForwarderSpec = {
      token: randomBytes(8).toString('hex'),
      stateFile: FILES.state,
      routesFile: FILES.routes,
      connectionsFile: FILES.connections,
      ports: ports.map((port) => ({ name: port.name, hostPort: port.port })),
      listenHost: '0.0.0.0',
    };
    const container = await this.#engine.call(`${where}: creating its container`, () =>
      this.#engine.docker.createContainer({
        name: serviceAddressName(env, workload),
        Image: image,
        Cmd: [FILES.spec],
        Hostname: workload,
        Labels: {
          ...environmentLabels(this.#engine, env),
          [LABEL.role]: ROLE,
          [LABEL.addressOf]: workload,
          [LABEL.addressPorts]: wanted,
        },
        StopTimeout: 2,
        NetworkingConfig: { EndpointsConfig: { [networkName(env)]: { Aliases: [workload] } } },
        HostConfig: {
          NetworkMode: networkName(env),
          RestartPolicy: { Name: 'always' },
          // It only relays: no privilege beyond binding low ports (a workload may serve on 80).
          CapDrop: ['ALL'],
          CapAdd: ['NET_BIND_SERVICE'],
          SecurityOpt: ['no-new-privileges'],
        },
      }),
    );
    try {
      await putFiles(this.#engine, container.id, { [FILES.spec]: JSON.stringify(spec) }, where);
      await this.#engine.call(`${where}: starting its container`, () => container.start());
      await this.#waitListening(container, spec.token, where);
    } catch (error) {
      await this.#engine.removeContainer(container.id).catch(() => undefined);
      throw error;
    }
    return { address: new ServiceAddress(this.#engine, container.id, workload), created: true };
  }

  /** The workload's running address container, if there is one. */
  async find(env: EnvironmentRef, workload: string): Promise<ServiceAddress | undefined> {
    const info = await this.#find(env, workload);
    return info === undefined ? undefined : new ServiceAddress(this.#engine, info.Id, workload);
  }

  async remove(env: EnvironmentRef, workload: string): Promise<void> {
    const info = await this.#find(env, workload);
    if (info !== undefined) await this.#engine.removeContainer(info.Id);
  }

  /** Removes the address containers of workloads `keep` does not know (removed while down). */
  async removeOrphans(keep: (env: EnvironmentRef, workload: string) => boolean): Promise<void> {
    const list = await this.#engine.listContainers(
      `docker target "${this.#engine.target}": listing service addresses`,
      { [LABEL.role]: ROLE },
    );
    for (const info of list) {
      const app = info.Labels[LABEL.app];
      const envName = info.Labels[LABEL.env];
      const workload = info.Labels[LABEL.addressOf];
      if (app === undefined || envName === undefined || workload === undefined) continue;
      if (!keep({ app, env: envName }, workload)) await this.#engine.removeContainer(info.Id);
    }
  }

  async #find(env: EnvironmentRef, workload: string): Promise<Docker.ContainerInfo | undefined> {
    const list = await this.#engine.listContainers(`workload "${workload}": looking up its service address`, {
      ...environmentSelector(env),
      [LABEL.role]: ROLE,
      [LABEL.addressOf]: workload,
    });
    return list[0];
  }

  /** Waits until the relay reports its ports bound (or why it could not bind them). */
  async #waitListening(container: Docker.Container, token: string, where: string): Promise<void> {
    const deadline = Date.now() + LISTEN_TIMEOUT_MS;
    for (;;) {
      const text = await readFile(this.#engine, container.id, FILES.state);
      const state = text === undefined ? undefined : parseState(text);
      if (state?.token === token) {
        if (state.error === undefined) return;
        throw new PavedError('TARGET_FAILED', `${where} could not listen: ${state.error}`);
      }
      if (Date.now() >= deadline) {
        const info = await this.#engine.inspectContainer(container.id);
        throw new PavedError(
          'TARGET_FAILED',
          `${where} did not start listening within ${LISTEN_TIMEOUT_MS / 1000} s (container ${container.id.slice(0, 12)}: ${info?.State.Status ?? 'gone'}${info?.State.ExitCode ? `, exit code ${info.State.ExitCode}` : ''}); see its logs with \`docker logs ${container.id.slice(0, 12)}\``,
        );
      }
      await sleep(LISTEN_POLL_MS);
    }
  }
}

/** The ports as a label: compared to decide whether an existing address still fits. */
function portsLabel(ports: AddressPort[]): string {
  return JSON.stringify([...ports].sort((a, b) => a.name.localeCompare(b.name) || a.port - b.port));
}

function parseState(text: string): ForwarderState | undefined {
  try {
    return JSON.parse(text) as ForwarderState;
  } catch {
    return undefined;
  }
}

async function putFiles(
  engine: Engine,
  id: string,
  files: Record<string, string>,
  where: string,
): Promise<void> {
  const archive = filesArchive(
    Object.entries(files).map(([target, content]) => ({ target, content, mode: '0600' })),
    { workingDir: '/', owner: { uid: 0, gid: 0 }, where },
  );
  try {
    await engine.docker.getContainer(id).putArchive(archive, { path: '/' });
  } catch (error) {
    throw new PavedError(
      'TARGET_FAILED',
      `${where}: writing ${Object.keys(files).join(', ')} into its container failed (${engineMessage(error)})`,
      {
        cause: error,
      },
    );
  }
}

async function readFile(engine: Engine, id: string, path: string): Promise<string | undefined> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await engine.docker.getContainer(id).getArchive({ path });
  } catch {
    return undefined;
  }
  return firstFileOfTar(stream);
}
