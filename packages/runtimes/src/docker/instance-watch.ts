/**
 * Paved's own view of an instance's health: container state from the engine (inspect), readiness
 * and liveness from Paved's probes — HTTP probes from the server against the container port the
 * engine published on 127.0.0.1, exec probes through the engine's exec — since Podman's health
 * checks do not run without systemd and Paved trusts only what it checked itself. The readiness
 * gate of `apply()` and the background monitor both evaluate instances through this.
 */
import type Docker from 'dockerode';
import type { Probe } from '@paved/core';
import { checkProbe, describeProbe, type ProbeResult, type ResolvedProbe } from '../probes/probe-check.js';
import type { Instance } from './docker-instance.js';

/** A probe as the docker target runs it: the shared HTTP/TCP checks, or exec through the engine. */
export type WatchProbe =
  Exclude<ResolvedProbe, { kind: 'exec' }> | { kind: 'container-exec'; container: string; command: string[] };

export function describeWatchProbe(probe: WatchProbe): string {
  return probe.kind === 'container-exec' ? `exec: ${probe.command.join(' ')}` : describeProbe(probe);
}

export interface ContainerView {
  name: string;
  id: string;
  /** Engine status: created, running, restarting, exited, … */
  status: string;
  running: boolean;
  exitCode: number;
  restartCount: number;
  startedAt: number;
  /** Exited with 0 and others wait for it to complete. */
  completed: boolean;
  ready: boolean;
}

export interface ProbeState {
  wasReady: boolean;
  probeFailures: number;
  livenessFailures: number;
  livenessRestarts: number;
  lastProbe?: { probe: string; status: string };
  /** The last failed readiness or liveness check, for `status`. */
  lastFailure?: { probe: string; status: string; at: string };
}

export interface WatchSnapshot {
  containers: ContainerView[];
  /** Every container ready or completed, and the workload check (if any) passing. */
  ready: boolean;
  /** The TCP check of a workload whose containers have no readiness probe. */
  workloadCheck?: { probe: string; status: string; ok: boolean };
  /** Published host port per `<containerPort>/<tcp|udp>`. */
  published: Map<string, number>;
  /** The instance's IP address in its network (a restart in a new namespace may change it). */
  ip?: string;
  /** The sandbox is gone or stopped: the namespace the containers share is lost. */
  sandboxDown: boolean;
  /** Containers that no longer exist. */
  missing: string[];
}

export interface WatchOptions {
  probeTimeoutMs: number;
  /** A container without a readiness probe is ready once it has run this long. */
  minUptimeMs: number;
}

export class InstanceWatch {
  readonly instance: Instance;
  readonly probes = new Map<string, ProbeState>();
  readonly #docker: Docker;
  readonly #options: WatchOptions;
  #snapshot: WatchSnapshot | undefined;
  readonly #execResults = new Map<string, { at: number; result: ProbeResult }>();

  constructor(docker: Docker, instance: Instance, options: WatchOptions) {
    this.#docker = docker;
    this.instance = instance;
    this.#options = options;
    for (const name of instance.layout.containers) {
      this.probes.set(name, { wasReady: false, probeFailures: 0, livenessFailures: 0, livenessRestarts: 0 });
    }
  }

  /** The last evaluation, if there was one. */
  get snapshot(): WatchSnapshot | undefined {
    return this.#snapshot;
  }

  /** Marks every container as having been ready (an adopted instance that was serving). */
  assumeWasReady(): void {
    for (const state of this.probes.values()) state.wasReady = true;
  }

  /**
   * Inspects every container and runs the readiness probes of the running ones (exec probes at
   * most every `execIntervalMs`).
   */
  async evaluate(execIntervalMs = 0): Promise<WatchSnapshot> {
    const { instance } = this;
    const completes = new Set(instance.layout.completes);
    const now = Date.now();
    const published = new Map<string, number>();
    const missing: string[] = [];
    let sandboxDown = false;
    let ip: string | undefined;
    if (instance.sandbox !== undefined) {
      const sandbox = await this.#inspect(instance.sandbox);
      if (sandbox?.State.Running !== true) sandboxDown = true;
      if (sandbox !== undefined) collectPorts(sandbox, published);
      ip = networkIp(sandbox);
    }
    const views = await Promise.all(
      instance.layout.containers.map(async (name): Promise<ContainerView> => {
        const id = instance.containers.get(name) ?? '';
        const info = id === '' ? undefined : await this.#inspect(id);
        if (info === undefined) {
          missing.push(name);
          return {
            name,
            id,
            status: 'missing',
            running: false,
            exitCode: -1,
            restartCount: 0,
            startedAt: 0,
            completed: false,
            ready: false,
          };
        }
        if (instance.sandbox === undefined) {
          collectPorts(info, published);
          ip ??= networkIp(info);
        }
        const startedAt = Date.parse(info.State.StartedAt);
        const completed =
          completes.has(name) &&
          !info.State.Running &&
          info.State.Status === 'exited' &&
          info.State.ExitCode === 0;
        return {
          name,
          id,
          status: info.State.Restarting ? 'restarting' : info.State.Status,
          running: info.State.Running && !info.State.Restarting,
          exitCode: info.State.ExitCode,
          restartCount: info.RestartCount,
          startedAt: Number.isNaN(startedAt) ? 0 : startedAt,
          completed,
          ready: completed,
        };
      }),
    );
    await Promise.all(
      views.map(async (view) => {
        const state = this.probes.get(view.name);
        if (state === undefined || !view.running) return;
        const probe = instance.layout.probes[view.name]?.readiness;
        if (probe === undefined) {
          view.ready = now - view.startedAt >= this.#options.minUptimeMs;
        } else {
          const resolved = this.resolve(probe, view.id, published);
          const result = await this.check(resolved, `${view.name}/readiness`, execIntervalMs);
          state.lastProbe = { probe: describeWatchProbe(resolved), status: result.status };
          if (!result.ok) state.probeFailures += 1;
          // Failures while a container boots are expected (the gate's evidence has them); status
          // keeps those of a container that had been ready: what took it out of service.
          if (!result.ok && state.wasReady) {
            state.lastFailure = {
              probe: `readiness ${describeWatchProbe(resolved)}`,
              status: result.status,
              at: new Date().toISOString(),
            };
          }
          view.ready = result.ok;
        }
        if (view.ready) state.wasReady = true;
      }),
    );
    let workloadCheck: WatchSnapshot['workloadCheck'];
    const hasReadinessProbe = Object.values(instance.layout.probes).some(
      (probes) => probes.readiness !== undefined,
    );
    const firstTcp = Object.values(instance.layout.ports).find((port) => port.protocol === 'TCP');
    if (!hasReadinessProbe && firstTcp !== undefined) {
      const port = published.get(`${firstTcp.targetPort}/tcp`);
      const resolved: WatchProbe = { kind: 'tcp', host: '127.0.0.1', port: port ?? 0 };
      const result: ProbeResult =
        port === undefined
          ? { ok: false, status: 'port not published' }
          : await checkProbe(resolved, this.#options.probeTimeoutMs);
      workloadCheck = { probe: describeWatchProbe(resolved), status: result.status, ok: result.ok };
    }
    const ready =
      !sandboxDown &&
      missing.length === 0 &&
      views.every((view) => view.ready) &&
      (workloadCheck === undefined || workloadCheck.ok);
    this.#snapshot = {
      containers: views,
      ready,
      published,
      ...(ip === undefined ? {} : { ip }),
      sandboxDown,
      missing,
      ...(workloadCheck === undefined ? {} : { workloadCheck }),
    };
    return this.#snapshot;
  }

  /** A Score probe resolved against this instance: HTTP to the published port, exec in the container. */
  resolve(probe: Probe, containerId: string, published: Map<string, number>): WatchProbe {
    if (probe.httpGet !== undefined) {
      const http = probe.httpGet;
      const scheme = (http.scheme ?? 'HTTP').toLowerCase();
      const path = http.path.startsWith('/') ? http.path : `/${http.path}`;
      const port = http.host === undefined ? (published.get(`${http.port}/tcp`) ?? http.port) : http.port;
      return {
        kind: 'http',
        url: `${scheme}://${http.host ?? '127.0.0.1'}:${port}${path}`,
        headers: Object.fromEntries((http.httpHeaders ?? []).map((header) => [header.name, header.value])),
      };
    }
    return { kind: 'container-exec', container: containerId, command: probe.exec?.command ?? [] };
  }

  /** Whether `check` would run the probe now (always, except for an exec probe run recently). */
  isDue(probe: WatchProbe, key: string, execIntervalMs: number): boolean {
    const last = this.#execResults.get(key);
    return probe.kind !== 'container-exec' || last === undefined || Date.now() - last.at >= execIntervalMs;
  }

  /**
   * Runs a probe. An exec probe whose last result (under `key`) is younger than `execIntervalMs`
   * is not run again: every exec is a process in the container, and Podman keeps each exec
   * session's monitor process (conmon) around for minutes after it ended.
   */
  async check(probe: WatchProbe, key?: string, execIntervalMs = 0): Promise<ProbeResult> {
    if (probe.kind !== 'container-exec') return checkProbe(probe, this.#options.probeTimeoutMs);
    const last = key === undefined ? undefined : this.#execResults.get(key);
    if (last !== undefined && Date.now() - last.at < execIntervalMs) return last.result;
    const result = await execProbe(
      this.#docker,
      probe.container,
      probe.command,
      this.#options.probeTimeoutMs,
    );
    if (key !== undefined) this.#execResults.set(key, { at: Date.now(), result });
    return result;
  }

  async #inspect(id: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.#docker.getContainer(id).inspect();
    } catch {
      return undefined;
    }
  }
}

/** Published ports of a container: `8080/tcp` → host port, from its inspect data. */
export function collectPorts(info: Docker.ContainerInspectInfo, into: Map<string, number>): void {
  for (const [key, bindings] of Object.entries(info.NetworkSettings?.Ports ?? {})) {
    const hostPort = Number(bindings?.[0]?.HostPort);
    if (Number.isInteger(hostPort) && hostPort > 0) into.set(key, hostPort);
  }
}

/** Runs `command` in the container through the engine; exit code 0 passes. */
async function execProbe(
  docker: Docker,
  containerId: string,
  command: string[],
  timeoutMs: number,
): Promise<ProbeResult> {
  if (command.length === 0) return { ok: false, status: 'exec probe has no command' };
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const exec = await docker
      .getContainer(containerId)
      .exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ abortSignal: abort.signal });
    await new Promise<void>((resolve) => {
      stream
        .on('end', resolve)
        .on('close', resolve)
        .on('error', () => resolve());
      stream.resume();
    });
    if (abort.signal.aborted) return { ok: false, status: `timed out after ${timeoutMs} ms` };
    const info = await exec.inspect();
    const code = info.ExitCode ?? -1;
    return { ok: code === 0, status: `exit code ${code}` };
  } catch (error) {
    if (abort.signal.aborted) return { ok: false, status: `timed out after ${timeoutMs} ms` };
    return { ok: false, status: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** The IP address of a container in its (first) network; instances are attached to one. */
function networkIp(info: Docker.ContainerInspectInfo | undefined): string | undefined {
  for (const network of Object.values(info?.NetworkSettings.Networks ?? {})) {
    if (network.IPAddress !== '') return network.IPAddress;
  }
  return undefined;
}
