/**
 * The stable `127.0.0.1:<port>` of one TCP port of a docker-target workload: a detached forwarder
 * process (the process target's `forwarder.ts`) that relays every new connection to the published
 * port of the workload's current instance. Being its own process, it keeps relaying while the
 * server restarts; the server finds it again through the files it left in the forwarder's
 * directory and only signals it while its recorded identity (pid and start time) still matches.
 *
 * ```
 * <stateDir>/<app>/<env>/<workload>/forwarders/<token>/   spec.json, state.json (port, identity),
 *                                                        routes.json (written here only),
 *                                                        connections.json (by the forwarder),
 *                                                        forwarder.log
 * ```
 *
 * One directory per forwarder process, so a replacement on another host port can start beside the
 * old one and take over only once the new instance is ready.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentRef } from '@paved/core';
import type {
  ForwarderConnections,
  ForwarderRoutes,
  ForwarderSpec,
  ForwarderState,
} from '../process/forwarder-spec.js';
import { spawnNodeScript } from '../process/node-script.js';
import { isAlive, signalIdentified, waitForExit, type ProcessIdentity } from '../process/process-identity.js';
import { readJson, writeJsonAtomic } from '../process/state-file.js';
import { forwarderPortRange } from './forwarder-ports.js';

export interface ForwardTarget {
  host: string;
  port: number;
}

/** How long a new forwarder may take to report the port it bound. */
const START_TIMEOUT_MS = 15_000;

/** The directory holding the forwarders of one workload. */
export function workloadForwardersDir(stateDir: string, env: EnvironmentRef, workload: string): string {
  return join(stateDir, env.app, env.env, workload, 'forwarders');
}

export class DetachedForwarder {
  readonly dir: string;
  readonly portName: string;
  readonly port: number;
  readonly #process: ProcessIdentity;
  #target: ForwardTarget | undefined;

  private constructor(
    dir: string,
    portName: string,
    port: number,
    identity: ProcessIdentity,
    target: ForwardTarget | undefined,
  ) {
    this.dir = dir;
    this.portName = portName;
    this.port = port;
    this.#process = identity;
    this.#target = target;
  }

  /**
   * Starts a forwarder for `portName` on `127.0.0.1:<hostPort>` (0: a free port below the kernel's
   * ephemeral range, see `forwarderPortRange`). Until a target is set, it closes connections at
   * once. Rejects with the listen error's code (`EADDRINUSE`, …) in `code`.
   */
  static async start(workloadDir: string, portName: string, hostPort: number): Promise<DetachedForwarder> {
    const token = randomBytes(16).toString('hex');
    const dir = join(workloadDir, token);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const spec: ForwarderSpec = {
      token,
      stateFile: join(dir, 'state.json'),
      routesFile: join(dir, 'routes.json'),
      connectionsFile: join(dir, 'connections.json'),
      ports: [{ name: portName, hostPort }],
      freePortRange: forwarderPortRange(),
    };
    writeJsonAtomic(join(dir, 'spec.json'), spec);
    const log = join(dir, 'forwarder.log');
    const identity = spawnNodeScript('forwarder', join(dir, 'spec.json'), log, dir);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const state = readJson<ForwarderState>(spec.stateFile);
      const port = state?.ports[portName];
      if (state?.token === token && state.error === undefined && port !== undefined) {
        return new DetachedForwarder(dir, portName, port, state.process, undefined);
      }
      const failed = state?.token === token && state.error !== undefined;
      if (failed || !isAlive(identity) || Date.now() >= deadline) {
        await stop(identity);
        const reason = failed ? (state?.error ?? '') : lastLines(log);
        rmSync(dir, { recursive: true, force: true });
        const error = new Error(reason === '' ? 'the forwarder process did not start' : reason);
        const code = /\b(E[A-Z]{3,})\b/.exec(reason)?.[1];
        throw Object.assign(error, code === undefined ? {} : { code });
      }
      await sleep(25);
    }
  }

  /** The running forwarders of a workload (left by an earlier server process); removes dead ones' files. */
  static found(workloadDir: string): DetachedForwarder[] {
    let names: string[];
    try {
      names = readdirSync(workloadDir);
    } catch {
      return [];
    }
    const found: DetachedForwarder[] = [];
    for (const name of names) {
      const dir = join(workloadDir, name);
      const spec = readJson<ForwarderSpec>(join(dir, 'spec.json'));
      const state = readJson<ForwarderState>(join(dir, 'state.json'));
      const portName = spec?.ports[0]?.name;
      const port = portName === undefined ? undefined : state?.ports[portName];
      if (
        spec === undefined ||
        state === undefined ||
        state.token !== spec.token ||
        portName === undefined ||
        port === undefined ||
        !isAlive(state.process)
      ) {
        // Not running (or never got going): what is left there only misleads a later look. A
        // forwarder still starting has no state file yet — only `start` makes those, and it
        // never runs while the runtime looks for leftovers of the same workload.
        if (state !== undefined && isAlive(state.process)) continue;
        if (spec !== undefined && state === undefined) continue;
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      const routes = readJson<ForwarderRoutes>(join(dir, 'routes.json'));
      const targetPort = routes?.targets[portName];
      found.push(
        new DetachedForwarder(
          dir,
          portName,
          port,
          state.process,
          targetPort === undefined ? undefined : { host: '127.0.0.1', port: targetPort },
        ),
      );
    }
    return found;
  }

  get target(): ForwardTarget | undefined {
    return this.#target;
  }

  get alive(): boolean {
    return isAlive(this.#process);
  }

  /** New connections go to `target` from now on (one atomic rewrite of `routes.json`). */
  setTarget(target: ForwardTarget): void {
    const routes: ForwarderRoutes = {
      instance: String(target.port),
      targets: { [this.portName]: target.port },
    };
    writeJsonAtomic(join(this.dir, 'routes.json'), routes);
    this.#target = target;
  }

  /** Relayed connections open to `target` now, as the forwarder last reported them. */
  openTo(target: ForwardTarget): number {
    const connections = readJson<ForwarderConnections>(join(this.dir, 'connections.json'));
    return connections?.open[String(target.port)] ?? 0;
  }

  /**
   * Resolves once no relayed connection to `target` remains open, or after `timeoutMs`, with the
   * number still open then. Call it after {@link setTarget} moved new connections elsewhere.
   */
  async drain(target: ForwardTarget, timeoutMs: number): Promise<number> {
    // The forwarder writes its counts on the event-loop turn after a connection opens; one it
    // picked up just before the routes changed must be in the file before the file is trusted.
    await sleep(100);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const open = this.openTo(target);
      if (open === 0 || Date.now() >= deadline) return open;
      await sleep(50);
    }
  }

  /** Stops the forwarder process (its relayed connections drop) and removes its directory. */
  async stop(): Promise<void> {
    await stop(this.#process);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Stops every running forwarder of a workload and removes their files (workload or environment gone). */
export async function stopForwardersIn(workloadDir: string): Promise<void> {
  await Promise.all(DetachedForwarder.found(workloadDir).map((forwarder) => forwarder.stop()));
  rmSync(workloadDir, { recursive: true, force: true });
}

async function stop(identity: ProcessIdentity): Promise<void> {
  if (!signalIdentified(identity, 'SIGTERM')) return;
  if (await waitForExit(identity, 5000)) return;
  signalIdentified(identity, 'SIGKILL');
  await waitForExit(identity, 5000);
}

function lastLines(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
