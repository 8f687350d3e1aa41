/**
 * The `process` target: runs each workload's containers as plain processes on the server's host.
 *
 * Design (user-facing version: docs/targets/process.md):
 *
 * - **Instances.** Every create or update starts a new *instance* (id `<deployment>-<random>`) with
 *   its own copy of each container's build context under `workDir`, owned by the run-as user
 *   (`nobody` when the server is root). `workDir` must lie outside the data directory, which the
 *   workload can never read: `stateDir` (records, supervisor specs, logs) is kept mode 0700 under
 *   it.
 * - **Secrets.** No secret variable's or secret argument's value is written to disk: `spec.json`
 *   names them, and the values reach the supervisor on its stdin at spawn (ADR 0015). A
 *   supervisor started again after it died gets them from `secretsOf` (the server opens the
 *   deployment's sealed spec); without them the workload is reported failed, never started
 *   without its secrets.
 * - **Supervisors.** An instance runs under its own detached supervisor process
 *   (`supervisor.ts`), which survives a server restart. It starts the containers in `before` order
 *   with dropped privileges, captures output to bounded log files, checks probes, restarts crashes
 *   with exponential backoff (counted), and on SIGTERM stops the containers with SIGTERM then
 *   SIGKILL after `graceMs`. It reports through `state.json`; the runtime reads nothing else.
 * - **Ports.** An instance listens on fresh ephemeral ports (`PORT`, `PORT_<NAME>`). A per-workload
 *   forwarder process (`forwarder.ts`) owns the stable host ports on 127.0.0.1 and relays new
 *   connections to the active instance named in `routes.json`. So a replacement runs beside the
 *   old instance, is switched to only once it is ready, and the old one is stopped after: a
 *   deployment never drops the port, and a failed readiness gate leaves the old instance serving.
 * - **Identity.** Every process the runtime started is recorded as pid + start time; it signals a
 *   pid only while the start time still matches, so it never touches a process it did not start.
 * - **Restart adoption.** `init()` reads the records: a live supervisor of the current instance is
 *   kept, a dead one is restarted (after killing what it left behind); a dead forwarder is
 *   restarted on the same ports; instances an interrupted apply left behind are stopped.
 * - **Readiness.** `apply()` waits until the supervisor reports every container ready (Score
 *   readiness probes; without one: up for 1 s, and the first port accepting TCP connections when
 *   no container has a readiness probe), gives up after `readinessTimeoutMs` or three crashes, and
 *   fails with evidence: the probe, its last answer, the last 20 log lines.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lchownSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import {
  DNS_LABEL,
  PavedError,
  systemClock,
  type ApplyOutcome,
  type ApplyResult,
  type Clock,
  type ContainerStatus,
  type DestroyOptions,
  type EnvironmentRef,
  type EventSink,
  type LogLine,
  type LogOptions,
  type Probe,
  type RenderedContainer,
  type RenderedWorkload,
  type Runtime,
  type RuntimePlan,
  type RuntimePlanItem,
  type WorkloadStatus,
} from '@paved/core';
import type { ResolvedProbe } from '../probes/probe-check.js';
import type {
  ForwarderConnections,
  ForwarderRoutes,
  ForwarderSpec,
  ForwarderState,
} from './forwarder-spec.js';
import { freePort } from './free-port.js';
import { LogFileReader } from './log-file.js';
import { spawnNodeScript } from './node-script.js';
import { secretArgvPositions } from './secret-arguments.js';
import { ProcessLayout } from './process-layout.js';
import { isAlive, signalIdentified, waitForExit, type ProcessIdentity } from './process-identity.js';
import { processWorkloadProblems } from './process-workload-problems.js';
import { readJson, writeJsonAtomic } from './state-file.js';
import type {
  SupervisedContainer,
  SupervisorSecrets,
  SupervisorSpec,
  SupervisorState,
} from './supervisor-spec.js';

export interface ProcessRuntimeOptions {
  /** Supervisor state, specs and logs; inside the data directory (kept mode 0700). */
  stateDir: string;
  /** Where contexts are copied for workloads: outside the data directory, traversable by `runAs`. */
  workDir: string;
  /** The user workloads run as. Default: `nobody` when the server runs as root, else the server's user. */
  runAs?: { uid: number; gid: number };
  /** Per container; the current log file and one rotated generation share it. Default 10 MiB. */
  logLimitBytes?: number;
  /** SIGTERM → SIGKILL delay when stopping a container. Default 10 s. */
  graceMs?: number;
  /**
   * After a switch, how long the old instance may keep finishing the connections the forwarder
   * still relays to it before it gets SIGTERM. Default 30 s.
   */
  drainTimeoutMs?: number;
  clock?: Clock;
  /** How often probes run. Default 1 s. */
  probeIntervalMs?: number;
  /** How long `apply()` waits for a new instance to become ready. Default 60 s. */
  readinessTimeoutMs?: number;
  /** Restart delay after a crash, doubled per consecutive crash. Default 500 ms up to 30 s. */
  backoff?: { initialMs: number; maxMs: number };
  /** Events seen outside `apply()` (restarts, liveness failures), e.g. for the server's log. */
  onEvent?: EventSink;
  /**
   * The secret variable values of a workload whose supervisor must be started again (it died,
   * found at `init()`): they are not kept on disk. The server opens the deployment's sealed
   * runtime spec. Undefined (or no callback): the workload is reported failed.
   */
  secretsOf?: (ref: ProcessSecretsRef) => Promise<ProcessSecretValues | undefined>;
}

/** Which workload instance `secretsOf` is asked about. */
export interface ProcessSecretsRef {
  app: string;
  env: string;
  /** The deployment that started the instance. */
  deployment: number;
  workload: string;
  /** The spec hash of the instance's rendered workload, to check the answer is for that spec. */
  specHash: string;
}

/** Container name → its secret values. */
export type ProcessSecretValues = Record<string, ProcessContainerSecrets>;

export interface ProcessContainerSecrets {
  /** Secret variable name → value. */
  variables: Record<string, string>;
  /** Position of a secret argument in `[...command, ...args]` → value (`secretArgvPositions`). */
  arguments?: Record<string, string>;
}

/** What `workload.json` holds: the active instance of a workload and its stable host ports. */
interface WorkloadRecord {
  app: string;
  env: string;
  workload: string;
  deployment: number;
  specHash: string;
  instance: string;
  /** Port name → Score port and the host port the forwarder owns. */
  ports: Record<string, { port: number; hostPort: number }>;
  forwarder?: { token: string; process: ProcessIdentity };
  updatedAt: string;
}

/** What `instance.json` holds. */
interface InstanceRecord {
  id: string;
  workload: string;
  deployment: number;
  specHash: string;
  token: string;
  supervisor: ProcessIdentity;
  /** Port name → the port the instance listens on. */
  ports: Record<string, number>;
  containers: string[];
  createdAt: string;
  /** Why its supervisor could not be started again (status shows the workload failed with it). */
  failure?: string;
}

interface Instance {
  record: InstanceRecord;
  stateDir: string;
}

type GateResult =
  { ok: true } | { ok: false; error: string; evidence: NonNullable<ApplyOutcome['evidence']> };

const EVIDENCE_LOG_LINES = 20;
/** A new instance whose containers crashed this often before being ready fails the gate early. */
const GATE_CRASH_LIMIT = 3;

export class ProcessRuntime implements Runtime {
  readonly kind = 'process' as const;
  readonly #layout: ProcessLayout;
  readonly #runAs: { uid: number; gid: number } | undefined;
  readonly #logLimitBytes: number;
  readonly #graceMs: number;
  readonly #drainTimeoutMs: number;
  readonly #clock: Clock;
  readonly #probeIntervalMs: number;
  readonly #readinessTimeoutMs: number;
  readonly #backoff: { initialMs: number; maxMs: number };
  readonly #onEvent: EventSink | undefined;
  readonly #secretsOf: ProcessRuntimeOptions['secretsOf'];
  #monitor: NodeJS.Timeout | undefined;
  readonly #seenRestarts = new Map<string, { restarts: number; livenessRestarts: number }>();

  constructor(options: ProcessRuntimeOptions) {
    const stateDir = resolve(options.stateDir);
    const workDir = resolve(options.workDir);
    const dataDir = dirname(stateDir);
    if (isWithin(dataDir, workDir)) {
      throw new PavedError(
        'INVALID_INPUT',
        `process target: workDir ${workDir} is inside the data directory ${dataDir}; workloads must not reach the data directory, so choose a workDir outside it`,
      );
    }
    this.#layout = new ProcessLayout(stateDir, workDir);
    this.#runAs = options.runAs ?? defaultRunAs();
    this.#logLimitBytes = options.logLimitBytes ?? 10 * 1024 * 1024;
    this.#graceMs = options.graceMs ?? 10_000;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.#clock = options.clock ?? systemClock;
    this.#probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.#readinessTimeoutMs = options.readinessTimeoutMs ?? 60_000;
    this.#backoff = options.backoff ?? { initialMs: 500, maxMs: 30_000 };
    this.#onEvent = options.onEvent;
    this.#secretsOf = options.secretsOf;
  }

  /** The user workloads run as; undefined when they run as the server's own user. */
  get runAs(): { uid: number; gid: number } | undefined {
    return this.#runAs;
  }

  async init(): Promise<void> {
    this.#prepareDirs();
    const emit = this.#onEvent ?? (() => undefined);
    for (const env of this.#environments()) {
      for (const workload of this.#workloadNames(env)) {
        const record = this.#readRecord(env, workload);
        if (record === undefined) continue;
        // Instances an interrupted apply left behind are ours and not current: stop them.
        for (const id of listDirs(this.#layout.instancesState(env, workload))) {
          if (id !== record.instance) await this.#stopInstance(env, workload, id);
        }
        const instance = this.#readInstance(env, workload, record.instance);
        // Restarts from before this start were reported (and recorded) by the server that saw them.
        const seen =
          instance === undefined
            ? undefined
            : readJson<SupervisorState>(join(instance.stateDir, 'state.json'));
        for (const [container, current] of Object.entries(seen?.containers ?? {})) {
          this.#seenRestarts.set(`${record.instance}/${container}`, {
            restarts: current.restarts,
            livenessRestarts: current.livenessRestarts,
          });
        }
        // A failure recorded by an earlier start is tried again: the secrets may be found now.
        if (instance !== undefined && !isAlive(instance.record.supervisor)) {
          await this.#killLeftovers(instance);
          const secrets = await this.#secretsForRespawn(env, instance);
          if (!secrets.ok) {
            writeJsonAtomic(join(instance.stateDir, 'instance.json'), {
              ...instance.record,
              failure: secrets.error,
            });
            emit({
              level: 'error',
              type: 'workload.failed',
              workload,
              source: { app: env.app, env: env.env, deployment: instance.record.deployment },
              message: `${env.app}/${env.env}: ${secrets.error}`,
            });
            continue;
          }
          const supervisor = spawnNodeScript(
            'supervisor',
            join(instance.stateDir, 'spec.json'),
            join(instance.stateDir, 'supervisor.log'),
            instance.stateDir,
            JSON.stringify(secrets.payload),
          );
          const { failure: _failure, ...started } = instance.record;
          writeJsonAtomic(join(instance.stateDir, 'instance.json'), { ...started, supervisor });
          emit({
            level: 'warn',
            type: 'workload.restarted',
            workload,
            message: `${env.app}/${env.env}: the supervisor of workload "${workload}" was not running; started it again`,
          });
        }
        if (Object.keys(record.ports).length > 0 && !isAlive(record.forwarder?.process)) {
          const hostPorts = Object.fromEntries(
            Object.entries(record.ports).map(([name, port]) => [name, port.hostPort]),
          );
          const forwarder = await this.#startForwarder(env, workload, hostPorts);
          this.#writeRecord(env, {
            ...record,
            forwarder: { token: forwarder.token, process: forwarder.process },
          });
        }
      }
    }
    if (this.#onEvent !== undefined && this.#monitor === undefined) {
      this.#monitor = setInterval(() => this.#watch(), Math.max(250, this.#probeIntervalMs * 2));
      this.#monitor.unref();
    }
  }

  async close(): Promise<void> {
    if (this.#monitor !== undefined) clearInterval(this.#monitor);
    this.#monitor = undefined;
  }

  async plan(env: EnvironmentRef, desired: RenderedWorkload[]): Promise<RuntimePlan> {
    checkEnvironment(env);
    const problems = processWorkloadProblems(desired);
    if (problems.length > 0) {
      throw PavedError.invalid(problems.map((problem) => problem.message).join('; '), problems);
    }
    const items: RuntimePlanItem[] = [];
    const wanted = new Set<string>();
    for (const workload of desired) {
      wanted.add(workload.name);
      const record = this.#readRecord(env, workload.name);
      const instance =
        record === undefined ? undefined : this.#readInstance(env, workload.name, record.instance);
      if (record === undefined) {
        items.push({ workload: workload.name, action: 'create', reason: 'not running', desired: workload });
      } else if (record.specHash !== workload.specHash) {
        items.push({ workload: workload.name, action: 'update', reason: 'spec changed', desired: workload });
      } else if (instance === undefined || !isAlive(instance.record.supervisor)) {
        items.push({ workload: workload.name, action: 'update', reason: 'not running', desired: workload });
      } else {
        items.push({ workload: workload.name, action: 'unchanged', desired: workload });
      }
    }
    for (const workload of this.#workloadNames(env)) {
      if (!wanted.has(workload) && this.#readRecord(env, workload) !== undefined) {
        items.push({ workload, action: 'delete', reason: 'not in the deployment' });
      }
    }
    return { env, items };
  }

  async apply(plan: RuntimePlan, events: EventSink, signal: AbortSignal): Promise<ApplyResult> {
    checkEnvironment(plan.env);
    this.#prepareDirs();
    const outcomes = await Promise.all(
      plan.items.map(async (item): Promise<ApplyOutcome> => {
        try {
          return await this.#applyItem(plan.env, item, events, signal);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          events({ level: 'error', type: 'workload.failed', workload: item.workload, message });
          return { workload: item.workload, action: item.action, ok: false, error: message };
        }
      }),
    );
    return { workloads: outcomes };
  }

  async status(env: EnvironmentRef): Promise<WorkloadStatus[]> {
    checkEnvironment(env);
    const statuses: WorkloadStatus[] = [];
    for (const workload of this.#workloadNames(env)) {
      const record = this.#readRecord(env, workload);
      if (record === undefined) continue;
      statuses.push(this.#workloadStatus(env, record));
    }
    return statuses;
  }

  async *logs(env: EnvironmentRef, workload: string, options: LogOptions): AsyncIterable<LogLine> {
    checkEnvironment(env);
    const record = this.#readRecord(env, workload);
    const instance = record === undefined ? undefined : this.#readInstance(env, workload, record.instance);
    if (record === undefined || instance === undefined) {
      throw new PavedError(
        'NOT_FOUND',
        `workload "${workload}" does not run in ${env.app}/${env.env} on the process target; deploy it first`,
      );
    }
    const containers = options.container === undefined ? instance.record.containers : [options.container];
    if (options.container !== undefined && !instance.record.containers.includes(options.container)) {
      throw new PavedError(
        'NOT_FOUND',
        `workload "${workload}" has no container "${options.container}"; its containers are ${instance.record.containers.join(', ')}`,
      );
    }
    const readers = containers.map(
      (name) => new LogFileReader(join(instance.stateDir, 'logs', `${name}.log`), name),
    );
    const since = options.since?.toISOString();
    const take = (): LogLine[] =>
      readers
        .flatMap((reader) => reader.read())
        .filter((line) => since === undefined || line.time >= since)
        .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    let lines = take();
    if (options.tail !== undefined) lines = options.tail <= 0 ? [] : lines.slice(-options.tail);
    yield* lines;
    if (options.follow !== true) return;
    const signal = options.signal;
    const aborted = (): boolean => signal?.aborted === true;
    while (!aborted()) {
      await sleep(200, signal);
      if (aborted()) return;
      yield* take();
    }
  }

  /**
   * Stops every workload of the environment and removes their work and state directories.
   * Volume directories hold data and are kept unless `deleteData` is set (`envs delete
   * --delete-data`), following the contracts' rule that data outlives deployments.
   */
  async destroy(env: EnvironmentRef, options: DestroyOptions = {}): Promise<void> {
    checkEnvironment(env);
    await Promise.all(this.#workloadNames(env).map((workload) => this.#removeWorkload(env, workload)));
    rmSync(this.#layout.envState(env), { recursive: true, force: true });
    rmSync(join(this.#layout.envWork(env), 'workloads'), { recursive: true, force: true });
    if (options.deleteData === true) rmSync(this.#layout.envWork(env), { recursive: true, force: true });
  }

  // ---------------------------------------------------------------------------------------------

  async #applyItem(
    env: EnvironmentRef,
    item: RuntimePlanItem,
    events: EventSink,
    signal: AbortSignal,
  ): Promise<ApplyOutcome> {
    switch (item.action) {
      case 'unchanged':
        return { workload: item.workload, action: item.action, ok: true };
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
        if (signal.aborted) {
          return {
            workload: item.workload,
            action: item.action,
            ok: false,
            error: 'cancelled before it started',
          };
        }
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
    const previous = this.#readRecord(env, name);
    events({
      level: 'info',
      type: 'workload.starting',
      workload: name,
      message: `starting workload "${name}" of deployment ${desired.deployment} (${action})`,
    });

    // The forwarder owns the stable host ports. Reuse the running one when the ports are the same;
    // a change of ports moves to a new forwarder only after the new instance is ready.
    const wantedPorts = Object.fromEntries(
      Object.entries(desired.ports).map(([port, spec]) => [
        port,
        spec.hostPort ?? previous?.ports[port]?.hostPort ?? 0,
      ]),
    );
    const previousForwarderAlive = isAlive(previous?.forwarder?.process);
    const samePorts =
      previous !== undefined &&
      sameKeys(previous.ports, wantedPorts) &&
      Object.entries(wantedPorts).every(([port, hostPort]) => previous.ports[port]?.hostPort === hostPort);
    let forwarder: { token: string; process: ProcessIdentity; ports: Record<string, number> } | undefined;
    if (previousForwarderAlive && samePorts && previous?.forwarder !== undefined) {
      forwarder = { ...previous.forwarder, ports: wantedPorts };
    } else if (!previousForwarderAlive && Object.keys(wantedPorts).length > 0) {
      forwarder = await this.#startForwarder(env, name, wantedPorts);
    }
    const switchForwarder = previousForwarderAlive && !samePorts;

    const instance = await this.#startInstance(env, desired);
    const gate = await this.#waitReady(env, name, instance, events, signal);
    if (!gate.ok) {
      await this.#stopInstance(env, name, instance.record.id);
      if (previous === undefined) {
        if (forwarder !== undefined) await stopProcess(forwarder.process, 5000);
        rmSync(this.#layout.workloadState(env, name), { recursive: true, force: true });
        rmSync(this.#layout.workloadWork(env, name), { recursive: true, force: true });
      } else if (forwarder !== undefined && forwarder.token !== previous.forwarder?.token) {
        this.#writeRecord(env, {
          ...previous,
          forwarder: { token: forwarder.token, process: forwarder.process },
        });
      }
      const kept =
        previous === undefined ? '' : `; the instance of deployment ${previous.deployment} keeps running`;
      events({ level: 'error', type: 'workload.failed', workload: name, message: `${gate.error}${kept}` });
      return { workload: name, action, ok: false, error: `${gate.error}${kept}`, evidence: gate.evidence };
    }

    const oldRoutes = readJson<ForwarderRoutes>(this.#layout.routes(env, name));
    const routes: ForwarderRoutes = { instance: instance.record.id, targets: instance.record.ports };
    writeJsonAtomic(this.#layout.routes(env, name), routes);
    if (switchForwarder) {
      if (previous?.forwarder !== undefined) await stopProcess(previous.forwarder.process, 5000);
      forwarder =
        Object.keys(wantedPorts).length > 0 ? await this.#startForwarder(env, name, wantedPorts) : undefined;
    }
    const record: WorkloadRecord = {
      app: env.app,
      env: env.env,
      workload: name,
      deployment: desired.deployment,
      specHash: desired.specHash,
      instance: instance.record.id,
      ports: Object.fromEntries(
        Object.entries(desired.ports).map(([port, spec]) => [
          port,
          { port: spec.port, hostPort: forwarder?.ports[port] ?? 0 },
        ]),
      ),
      ...(forwarder === undefined
        ? {}
        : { forwarder: { token: forwarder.token, process: forwarder.process } }),
      updatedAt: this.#clock.now().toISOString(),
    };
    this.#writeRecord(env, record);
    if (previous !== undefined) {
      if (!switchForwarder && oldRoutes?.instance === previous.instance) {
        const open = await this.#drain(env, name, Object.values(oldRoutes.targets));
        if (open > 0) {
          events({
            level: 'warn',
            type: 'workload.drain-timeout',
            workload: name,
            message: `the previous instance of workload "${name}" still had ${open} open connection(s) after the drain timeout of ${this.#drainTimeoutMs} ms; stopping it anyway (raise drainTimeoutMs for longer requests)`,
          });
        }
      }
      await this.#stopInstance(env, name, previous.instance);
      events({
        level: 'info',
        type: 'workload.stopped',
        workload: name,
        message: `stopped the previous instance of workload "${name}" (deployment ${previous.deployment})`,
      });
    }
    const addresses = Object.values(record.ports).map((port) => `127.0.0.1:${port.hostPort}`);
    events({
      level: 'info',
      type: 'workload.ready',
      workload: name,
      message: `workload "${name}" is ready${addresses.length > 0 ? ` on ${addresses.join(', ')}` : ''}`,
    });
    return { workload: name, action, ok: true };
  }

  async #startInstance(env: EnvironmentRef, desired: RenderedWorkload): Promise<Instance> {
    const id = `${desired.deployment}-${randomBytes(4).toString('hex')}`;
    const stateDir = this.#layout.instanceState(env, desired.name, id);
    const workDir = this.#layout.instanceWork(env, desired.name, id);
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    mkdirSync(join(stateDir, 'logs'), { recursive: true, mode: 0o700 });
    this.#makeTraversable(dirname(workDir));
    mkdirSync(workDir, { recursive: true, mode: 0o700 });

    const ports: Record<string, number> = {};
    for (const port of Object.keys(desired.ports)) ports[port] = await freePort();
    const portEnv: Record<string, string> = {};
    const first = Object.values(ports)[0];
    if (first !== undefined) portEnv.PORT = String(first);
    for (const [port, listen] of Object.entries(ports)) portEnv[`PORT_${envName(port)}`] = String(listen);

    const completes = new Set(
      Object.values(desired.containers).flatMap((container) =>
        Object.entries(container.before)
          .filter(([, condition]) => condition.ready === 'complete')
          .map(([other]) => other),
      ),
    );
    const containers: SupervisedContainer[] = [];
    const secrets: SupervisorSecrets = { containers: {} };
    for (const [name, container] of Object.entries(desired.containers)) {
      const dir = join(workDir, name);
      const app = join(dir, 'app');
      const root = join(dir, 'root');
      const home = join(dir, 'home');
      const contextDir = container.context?.dir ?? '';
      cpSync(contextDir, app, { recursive: true, verbatimSymlinks: true });
      mkdirSync(root, { recursive: true });
      mkdirSync(home, { recursive: true });
      this.#writeFiles(desired.name, name, container, app, root);
      this.#linkVolumes(env, container, app, root);
      const env_: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        HOME: home,
        PAVED_ROOT: root,
        ...container.variables,
        // The assigned ports win over variables: the instance is only reachable on them.
        ...portEnv,
      };
      // Secret values leave the spec: the supervisor gets them on stdin (ADR 0015).
      const secretEnv = container.secretVariables.filter(
        (key) => Object.hasOwn(container.variables, key) && !Object.hasOwn(portEnv, key),
      );
      if (secretEnv.length > 0) {
        secrets.containers[name] = Object.fromEntries(secretEnv.map((key) => [key, env_[key] ?? '']));
        for (const key of secretEnv) delete env_[key];
      }
      // Secret arguments leave the spec too; the command line itself is still the process's own.
      const argv = [...(container.command ?? []), ...(container.args ?? [])];
      const secretArgs = secretArgvPositions(container);
      if (secretArgs.length > 0) {
        (secrets.arguments ??= {})[name] = Object.fromEntries(
          secretArgs.map((position) => [String(position), argv[position] ?? '']),
        );
        for (const position of secretArgs) argv[position] = '';
      }
      const [command = '', ...args] = argv;
      containers.push({
        name,
        command,
        args,
        cwd: app,
        env: env_,
        ...(secretEnv.length === 0 ? {} : { secretEnv }),
        ...(secretArgs.length === 0 ? {} : { secretArgs }),
        waitFor: Object.fromEntries(
          Object.entries(container.before).map(([other, condition]) => [other, condition.ready]),
        ),
        runsToCompletion: completes.has(name),
        ...resolvedProbes(container, desired, ports, app, env_, this.#runAs),
      });
    }
    if (this.#runAs !== undefined && process.getuid?.() === 0)
      chownTree(workDir, this.#runAs.uid, this.#runAs.gid);

    const hasReadinessProbe = Object.values(desired.containers).some(
      (container) => container.readinessProbe !== undefined,
    );
    const token = randomBytes(16).toString('hex');
    const spec: SupervisorSpec = {
      token,
      instance: id,
      workload: desired.name,
      stateFile: join(stateDir, 'state.json'),
      logDir: join(stateDir, 'logs'),
      ...(this.#runAs === undefined ? {} : { uid: this.#runAs.uid, gid: this.#runAs.gid }),
      graceMs: this.#graceMs,
      logLimitBytes: this.#logLimitBytes,
      probeIntervalMs: this.#probeIntervalMs,
      backoff: this.#backoff,
      ...(first !== undefined && !hasReadinessProbe
        ? { workloadCheck: { kind: 'tcp', host: '127.0.0.1', port: first } }
        : {}),
      containers,
    };
    writeJsonAtomic(join(stateDir, 'spec.json'), spec);
    const supervisor = spawnNodeScript(
      'supervisor',
      join(stateDir, 'spec.json'),
      join(stateDir, 'supervisor.log'),
      stateDir,
      JSON.stringify(secrets),
    );
    const record: InstanceRecord = {
      id,
      workload: desired.name,
      deployment: desired.deployment,
      specHash: desired.specHash,
      token,
      supervisor,
      ports,
      containers: containers.map((container) => container.name),
      createdAt: this.#clock.now().toISOString(),
    };
    writeJsonAtomic(join(stateDir, 'instance.json'), record);
    return { record, stateDir };
  }

  #writeFiles(workload: string, container: string, spec: RenderedContainer, app: string, root: string): void {
    for (const file of spec.files) {
      const path = mapTarget(file.target, app, root);
      if (path === undefined) {
        throw new PavedError(
          'INVALID_INPUT',
          `workload "${workload}" container "${container}" file "${file.target}" points outside the container's directories; use a path without ".."`,
        );
      }
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content);
      const mode = file.mode === undefined ? 0o644 : Number.parseInt(file.mode, 8) & 0o7777;
      // A file holding a secret output is for the workload's user only, whatever mode was asked.
      chmodSync(path, file.secret === true ? mode & 0o700 : mode);
    }
  }

  #linkVolumes(env: EnvironmentRef, container: RenderedContainer, app: string, root: string): void {
    for (const volume of container.volumes) {
      const path = mapTarget(volume.target, app, root);
      if (path === undefined) continue;
      const source = join(this.#layout.volumes(env), volume.source, volume.path ?? '');
      if (!isWithin(join(this.#layout.volumes(env), volume.source), source)) continue;
      this.#makeTraversable(this.#layout.volumes(env));
      if (!existsSync(source)) {
        mkdirSync(source, { recursive: true, mode: 0o700 });
        if (this.#runAs !== undefined && process.getuid?.() === 0) {
          chownTree(join(this.#layout.volumes(env), volume.source), this.#runAs.uid, this.#runAs.gid);
        }
      }
      mkdirSync(dirname(path), { recursive: true });
      rmSync(path, { recursive: true, force: true });
      symlinkSync(source, path);
    }
  }

  /** Directories on the way to an instance: root-owned, enterable (not listable) by others. */
  #makeTraversable(dir: string): void {
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    for (let at = dir; isWithin(this.#layout.workDir, at); at = dirname(at)) {
      chmodSync(at, 0o711);
      if (at === this.#layout.workDir) break;
    }
  }

  async #waitReady(
    env: EnvironmentRef,
    workload: string,
    instance: Instance,
    events: EventSink,
    signal: AbortSignal,
  ): Promise<GateResult> {
    const deadline = Date.now() + this.#readinessTimeoutMs;
    const stateFile = join(instance.stateDir, 'state.json');
    const restarts = new Map<string, number>();
    const fail = (error: string): GateResult => ({ ok: false, error, evidence: this.#evidence(instance) });
    for (;;) {
      const state = readJson<SupervisorState>(stateFile);
      if (state?.token === instance.record.token) {
        for (const [container, current] of Object.entries(state.containers)) {
          if (current.restarts > (restarts.get(container) ?? 0)) {
            restarts.set(container, current.restarts);
            events({
              level: 'warn',
              type: 'container.restarted',
              workload,
              container,
              message: `container "${container}" of workload "${workload}" restarted (${current.restarts} so far, last exit ${exitText(current)})`,
            });
          }
        }
        if (state.ready) return { ok: true };
        const failed = Object.entries(state.containers).find(([, current]) => current.state === 'failed');
        if (failed !== undefined) {
          return fail(
            `workload "${workload}" container "${failed[0]}" failed: ${failed[1].message ?? exitText(failed[1])}`,
          );
        }
        const looping = Object.entries(state.containers).find(
          ([, current]) => current.restarts >= GATE_CRASH_LIMIT,
        );
        if (looping !== undefined) {
          return fail(
            `workload "${workload}" container "${looping[0]}" crashed ${looping[1].restarts} times before it was ready (last exit ${exitText(looping[1])}); see its logs`,
          );
        }
      }
      if (!isAlive(instance.record.supervisor)) {
        return fail(
          `workload "${workload}": the supervisor process exited; see ${join(instance.stateDir, 'supervisor.log')} on the server`,
        );
      }
      if (signal.aborted)
        return fail(`workload "${workload}": cancelled while waiting for it to become ready`);
      if (Date.now() >= deadline) {
        const evidence = this.#evidence(instance);
        const what =
          evidence.probe === undefined
            ? ''
            : `: ${evidence.probe} last answered ${evidence.lastStatus ?? 'nothing'}`;
        return {
          ok: false,
          error: `workload "${workload}" did not become ready within ${Math.round(this.#readinessTimeoutMs / 1000)} s${what}; see the last log lines`,
          evidence,
        };
      }
      await sleep(Math.min(200, this.#probeIntervalMs), signal);
    }
  }

  #evidence(instance: Instance): NonNullable<ApplyOutcome['evidence']> {
    const state = readJson<SupervisorState>(join(instance.stateDir, 'state.json'));
    const lines = instance.record.containers
      .flatMap((name) => new LogFileReader(join(instance.stateDir, 'logs', `${name}.log`), name).read())
      .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
      .slice(-EVIDENCE_LOG_LINES)
      .map((line) => `${line.container}: ${line.line}`);
    const notReady = Object.entries(state?.containers ?? {}).find(
      ([, current]) => !current.ready && current.state !== 'completed',
    );
    const probe = notReady?.[1].lastProbe ?? state?.lastWorkloadCheck;
    let lastStatus = probe?.status;
    if (notReady !== undefined && notReady[1].state !== 'running') {
      lastStatus = `container "${notReady[0]}" ${notReady[1].state}${notReady[1].state === 'waiting' ? '' : ` (${notReady[1].message ?? exitText(notReady[1])})`}`;
    }
    return {
      ...(probe === undefined ? {} : { probe: probe.probe }),
      ...(lastStatus === undefined ? {} : { lastStatus }),
      lastLogLines: lines,
    };
  }

  #workloadStatus(env: EnvironmentRef, record: WorkloadRecord): WorkloadStatus {
    const instance = this.#readInstance(env, record.workload, record.instance);
    const state =
      instance === undefined ? undefined : readJson<SupervisorState>(join(instance.stateDir, 'state.json'));
    const alive = instance !== undefined && isAlive(instance.record.supervisor);
    const containers: ContainerStatus[] = (instance?.record.containers ?? []).map((name) => {
      const current = state?.containers[name];
      return {
        name,
        state:
          current === undefined
            ? 'waiting'
            : alive
              ? current.state
              : current.state === 'completed'
                ? 'completed'
                : 'exited',
        restarts: current?.restarts ?? 0,
        ...(current?.exitCode === undefined ? {} : { exitCode: current.exitCode }),
        image: '.',
        probeFailures: current?.probeFailures ?? 0,
        ...(current?.lastProbeFailure === undefined ? {} : { lastProbeFailure: current.lastProbeFailure }),
      };
    });
    const ports = Object.entries(record.ports).map(([name, port]) => ({
      name,
      port: port.port,
      ...(port.hostPort > 0 ? { address: `127.0.0.1:${port.hostPort}` } : {}),
    }));
    const base = { name: record.workload, deployment: record.deployment, containers, ports };
    if (!alive && instance?.record.failure !== undefined) {
      return { ...base, state: 'failed', ready: false, message: instance.record.failure };
    }
    if (!alive) {
      return {
        ...base,
        state: 'stopped',
        ready: false,
        message: `the supervisor of workload "${record.workload}" is not running; redeploy or restart the server to start it again`,
      };
    }
    if (state?.ready === true) return { ...base, state: 'ready', ready: true };
    const broken = Object.entries(state?.containers ?? {}).find(
      ([, current]) => current.state === 'failed' || current.state === 'exited',
    );
    if (broken !== undefined) {
      return {
        ...base,
        state: 'failed',
        ready: false,
        message: `container "${broken[0]}" ${broken[1].state === 'failed' ? 'failed' : 'exited'}: ${broken[1].message ?? exitText(broken[1])}`,
      };
    }
    const wasReady = Object.values(state?.containers ?? {}).some((current) => current.wasReady);
    return { ...base, state: wasReady ? 'running' : 'starting', ready: false };
  }

  /**
   * The stdin payload of a supervisor started again: the secret values its spec names, from
   * `secretsOf`. They are not on disk, so without a callback or an answer holding every one of
   * them the supervisor is not started (a workload without its secrets would misbehave quietly).
   */
  async #secretsForRespawn(
    env: EnvironmentRef,
    instance: Instance,
  ): Promise<{ ok: true; payload: SupervisorSecrets } | { ok: false; error: string }> {
    const spec = readJson<SupervisorSpec>(join(instance.stateDir, 'spec.json'));
    const named = (spec?.containers ?? []).filter(
      (container) => (container.secretEnv ?? []).length > 0 || (container.secretArgs ?? []).length > 0,
    );
    if (named.length === 0) return { ok: true, payload: { containers: {} } };
    const workload = instance.record.workload;
    const failed = (why: string): { ok: false; error: string } => ({
      ok: false,
      error: `the supervisor of workload "${workload}" (deployment ${instance.record.deployment}) was not running and was not started again: ${why}; its secrets are not kept on disk, so deploy again`,
    });
    if (this.#secretsOf === undefined)
      return failed('this server gives the process target no way to read secrets');
    let values: ProcessSecretValues | undefined;
    try {
      values = await this.#secretsOf({
        app: env.app,
        env: env.env,
        deployment: instance.record.deployment,
        workload,
        specHash: instance.record.specHash,
      });
    } catch (error) {
      return failed(
        `reading its secret values failed (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    if (values === undefined)
      return failed(`deployment ${instance.record.deployment} holds no secret values for it`);
    const payload: SupervisorSecrets = { containers: {}, arguments: {} };
    for (const container of named) {
      const found = values[container.name]?.variables ?? {};
      const missing = (container.secretEnv ?? []).filter((name) => found[name] === undefined);
      if (missing.length > 0) {
        return failed(
          `the secret variables ${missing.map((name) => `${container.name}.${name}`).join(', ')} were not found`,
        );
      }
      payload.containers[container.name] = Object.fromEntries(
        (container.secretEnv ?? []).map((name) => [name, found[name] ?? '']),
      );
      const foundArgs = values[container.name]?.arguments ?? {};
      const missingArgs = (container.secretArgs ?? []).filter(
        (position) => foundArgs[String(position)] === undefined,
      );
      if (missingArgs.length > 0) {
        return failed(
          `the secret arguments at ${missingArgs.map((position) => `${container.name} position ${position}`).join(', ')} were not found`,
        );
      }
      if ((container.secretArgs ?? []).length > 0) {
        (payload.arguments ??= {})[container.name] = Object.fromEntries(
          (container.secretArgs ?? []).map((position) => [
            String(position),
            foundArgs[String(position)] ?? '',
          ]),
        );
      }
    }
    return { ok: true, payload };
  }

  async #removeWorkload(env: EnvironmentRef, workload: string): Promise<void> {
    const record = this.#readRecord(env, workload);
    await Promise.all(
      listDirs(this.#layout.instancesState(env, workload)).map((id) => this.#stopInstance(env, workload, id)),
    );
    if (record?.forwarder !== undefined) await stopProcess(record.forwarder.process, 5000);
    rmSync(this.#layout.workloadState(env, workload), { recursive: true, force: true });
    rmSync(this.#layout.workloadWork(env, workload), { recursive: true, force: true });
  }

  /** SIGTERM to the supervisor (which stops its containers within the grace period), then cleanup. */
  async #stopInstance(env: EnvironmentRef, workload: string, id: string): Promise<void> {
    const instance = this.#readInstance(env, workload, id);
    if (instance !== undefined) {
      await stopProcess(instance.record.supervisor, this.#graceMs + 5000);
      await this.#killLeftovers(instance);
    }
    rmSync(this.#layout.instanceState(env, workload, id), { recursive: true, force: true });
    rmSync(this.#layout.instanceWork(env, workload, id), { recursive: true, force: true });
  }

  /** Containers a dead supervisor left running (it was killed): their recorded process groups. */
  async #killLeftovers(instance: Instance): Promise<void> {
    const state = readJson<SupervisorState>(join(instance.stateDir, 'state.json'));
    for (const current of Object.values(state?.containers ?? {})) {
      if (current.process !== undefined && signalIdentified(current.process, 'SIGKILL', true)) {
        await waitForExit(current.process, 5000);
      }
    }
  }

  /**
   * Waits until the forwarder relays no connection to `ports` (the old instance's), or until the
   * drain timeout; returns how many were still open then.
   */
  async #drain(env: EnvironmentRef, workload: string, ports: number[]): Promise<number> {
    const file = join(this.#layout.forwarderDir(env, workload), 'connections.json');
    // The forwarder writes its counts on the event-loop turn after a connection opens; one picked
    // up just before the routes changed must be in the file before it is trusted.
    await sleep(100);
    const deadline = Date.now() + this.#drainTimeoutMs;
    for (;;) {
      const connections = readJson<ForwarderConnections>(file);
      if (connections === undefined) return 0;
      const open = ports.reduce((sum, port) => sum + (connections.open[String(port)] ?? 0), 0);
      if (open === 0 || Date.now() >= deadline) return open;
      await sleep(50);
    }
  }

  async #startForwarder(
    env: EnvironmentRef,
    workload: string,
    hostPorts: Record<string, number>,
  ): Promise<{ token: string; process: ProcessIdentity; ports: Record<string, number> }> {
    const dir = this.#layout.forwarderDir(env, workload);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const token = randomBytes(16).toString('hex');
    const spec: ForwarderSpec = {
      token,
      stateFile: join(dir, 'state.json'),
      routesFile: this.#layout.routes(env, workload),
      connectionsFile: join(dir, 'connections.json'),
      ports: Object.entries(hostPorts).map(([name, hostPort]) => ({ name, hostPort })),
    };
    rmSync(spec.stateFile, { force: true });
    writeJsonAtomic(join(dir, 'spec.json'), spec);
    const identity = spawnNodeScript('forwarder', join(dir, 'spec.json'), join(dir, 'forwarder.log'), dir);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const state = readJson<ForwarderState>(spec.stateFile);
      if (state?.token === token && state.error !== undefined) {
        const wanted = Object.entries(hostPorts)
          .map(([name, port]) => `${name}=${port === 0 ? 'any' : `127.0.0.1:${port}`}`)
          .join(', ');
        throw new PavedError(
          'TARGET_FAILED',
          `workload "${workload}" in ${env.app}/${env.env}: could not listen on its host ports (${wanted}): ${state.error}; free the port or assign another`,
        );
      }
      if (state?.token === token) return { token, process: identity, ports: state.ports };
      if (!isAlive(identity) || Date.now() >= deadline) {
        await stopProcess(identity, 1000);
        let output = '';
        try {
          output = readFileSync(join(dir, 'forwarder.log'), 'utf8').trim().split('\n').slice(-5).join(' | ');
        } catch {
          // No output to show.
        }
        throw new PavedError(
          'TARGET_FAILED',
          `workload "${workload}": the port forwarder did not start${output === '' ? '' : `: ${output}`}`,
        );
      }
      await sleep(25);
    }
  }

  /**
   * Reports what the supervisors saw since the last look (restarts with their exit, liveness
   * restarts) as events carrying their environment and deployment, so the server can record them.
   */
  #watch(): void {
    const emit = this.#onEvent;
    if (emit === undefined) return;
    for (const env of this.#environments()) {
      for (const workload of this.#workloadNames(env)) {
        const record = this.#readRecord(env, workload);
        const instance =
          record === undefined ? undefined : this.#readInstance(env, workload, record.instance);
        if (record === undefined || instance === undefined) continue;
        const state = readJson<SupervisorState>(join(instance.stateDir, 'state.json'));
        const source = { app: env.app, env: env.env, deployment: record.deployment };
        const where = `${env.app}/${env.env}: container`;
        for (const [container, current] of Object.entries(state?.containers ?? {})) {
          const key = `${instance.record.id}/${container}`;
          const seen = this.#seenRestarts.get(key) ?? { restarts: 0, livenessRestarts: 0 };
          if (current.restarts <= seen.restarts && current.livenessRestarts <= seen.livenessRestarts)
            continue;
          this.#seenRestarts.set(key, {
            restarts: current.restarts,
            livenessRestarts: current.livenessRestarts,
          });
          if (current.livenessRestarts > seen.livenessRestarts) {
            const failure = current.lastProbeFailure;
            emit({
              level: 'warn',
              type: 'container.unhealthy',
              workload,
              container,
              source,
              message: `${where} "${container}" of workload "${workload}" failed its liveness probe 3 times in a row${failure === undefined ? '' : ` (${failure.probe}: ${failure.status})`}; restarting it`,
            });
          }
          if (current.restarts > seen.restarts) {
            emit({
              level: 'warn',
              type: 'container.restarted',
              workload,
              container,
              source,
              message: `${where} "${container}" of workload "${workload}" restarted (${current.restarts} so far, ${current.livenessRestarts} after failed liveness probes; last exit ${exitText(current)})`,
            });
          }
        }
      }
    }
  }

  #prepareDirs(): void {
    mkdirSync(this.#layout.stateDir, { recursive: true, mode: 0o700 });
    chmodSync(this.#layout.stateDir, 0o700);
    mkdirSync(this.#layout.workDir, { recursive: true, mode: 0o711 });
  }

  #environments(): EnvironmentRef[] {
    return listDirs(this.#layout.stateDir).flatMap((app) =>
      listDirs(join(this.#layout.stateDir, app))
        .filter((env) => DNS_LABEL.test(app) && DNS_LABEL.test(env))
        .map((env) => ({ app, env })),
    );
  }

  #workloadNames(env: EnvironmentRef): string[] {
    return listDirs(this.#layout.envState(env)).filter((name) => DNS_LABEL.test(name));
  }

  #readRecord(env: EnvironmentRef, workload: string): WorkloadRecord | undefined {
    return readJson<WorkloadRecord>(this.#layout.workloadRecord(env, workload));
  }

  #writeRecord(env: EnvironmentRef, record: WorkloadRecord): void {
    writeJsonAtomic(this.#layout.workloadRecord(env, record.workload), record);
  }

  #readInstance(env: EnvironmentRef, workload: string, id: string): Instance | undefined {
    const stateDir = this.#layout.instanceState(env, workload, id);
    const record = readJson<InstanceRecord>(join(stateDir, 'instance.json'));
    return record === undefined ? undefined : { record, stateDir };
  }
}

function resolvedProbes(
  container: RenderedContainer,
  workload: RenderedWorkload,
  ports: Record<string, number>,
  cwd: string,
  env: Record<string, string>,
  runAs: { uid: number; gid: number } | undefined,
): Pick<SupervisedContainer, 'readinessProbe' | 'livenessProbe'> {
  const resolveProbe = (probe: Probe | undefined): ResolvedProbe | undefined => {
    if (probe?.httpGet !== undefined) {
      const http = probe.httpGet;
      // The Score probe names the port the container listens on; here that is the instance port.
      const named = Object.entries(workload.ports).find(
        ([, port]) => port.targetPort === http.port || port.port === http.port,
      );
      const port = named === undefined ? http.port : (ports[named[0]] ?? http.port);
      const scheme = (http.scheme ?? 'HTTP').toLowerCase();
      const path = http.path.startsWith('/') ? http.path : `/${http.path}`;
      return {
        kind: 'http',
        url: `${scheme}://${http.host ?? '127.0.0.1'}:${port}${path}`,
        headers: Object.fromEntries((http.httpHeaders ?? []).map((header) => [header.name, header.value])),
      };
    }
    if (probe?.exec !== undefined) {
      return { kind: 'exec', command: probe.exec.command, cwd, env, ...(runAs === undefined ? {} : runAs) };
    }
    return undefined;
  };
  const readinessProbe = resolveProbe(container.readinessProbe);
  const livenessProbe = resolveProbe(container.livenessProbe);
  return {
    ...(readinessProbe === undefined ? {} : { readinessProbe }),
    ...(livenessProbe === undefined ? {} : { livenessProbe }),
  };
}

/** Absolute targets go under the container's `root` (`$PAVED_ROOT`), relative ones under its cwd. */
function mapTarget(target: string, app: string, root: string): string | undefined {
  const base = isAbsolute(target) ? root : app;
  const path = resolve(base, isAbsolute(target) ? `.${target}` : target);
  return isWithin(base, path) && path !== base ? path : undefined;
}

function isWithin(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function chownTree(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child, uid, gid);
    else lchownSync(child, uid, gid);
  }
}

function listDirs(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

function sameKeys(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key));
}

function envName(port: string): string {
  return port.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

function exitText(current: { exitCode?: number; signal?: string }): string {
  if (current.signal !== undefined) return `signal ${current.signal}`;
  return current.exitCode === undefined ? 'none yet' : `code ${current.exitCode}`;
}

function checkEnvironment(env: EnvironmentRef): void {
  if (!DNS_LABEL.test(env.app) || !DNS_LABEL.test(env.env)) {
    throw new PavedError(
      'INVALID_INPUT',
      `app "${env.app}" / environment "${env.env}": names must be DNS labels`,
    );
  }
}

/** `nobody` from /etc/passwd when the server runs as root; otherwise workloads run as the server's user. */
function defaultRunAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('nobody:'));
    const fields = line?.split(':');
    if (fields?.[2] !== undefined && fields[3] !== undefined)
      return { uid: Number(fields[2]), gid: Number(fields[3]) };
  } catch {
    // Fall through to the conventional id.
  }
  return { uid: 65534, gid: 65534 };
}

/** SIGTERM, then SIGKILL when the process is still there after `graceMs`. */
async function stopProcess(identity: ProcessIdentity, graceMs: number): Promise<void> {
  if (!signalIdentified(identity, 'SIGTERM')) return;
  if (await waitForExit(identity, graceMs)) return;
  signalIdentified(identity, 'SIGKILL');
  await waitForExit(identity, 5000);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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
