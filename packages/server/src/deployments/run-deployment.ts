import { randomInt } from 'node:crypto';
import {
  PavedError,
  systemClock,
  buildResourceGraph,
  planDeployment,
  provisionGraph,
  renderWorkloads,
  requestResources,
  resolveDefinitions,
  workloadOutputs,
  type ApplyOutcome,
  type Clock,
  type CurrentWorkload,
  type FieldChange,
  type MatchContext,
  type NetworkEndpoint,
  type PlannedResourceState,
  type PreviousResource,
  type ProvisionContext,
  type ProvisionedResource,
  type RenderedWorkload,
  type RuntimeKind,
  type ResourceDefinition,
  type ResourceDriver,
  type ResourceGraph,
  type Runtime,
  type RuntimePlan,
} from '@paved/core';
import type {
  ActiveResource,
  Deployment,
  DeploymentStep,
  DeploymentWorkload,
  Environment,
  GatewayRoute,
  Store,
} from '@paved/store';
import type { Logger } from 'pino';
import type { ContextStore } from '../contexts/context-store.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { DeploymentEngine } from './deployment-engine.js';
import { eventSink } from './deployment-engine.js';
import { GraphRecorder } from './graph-recorder.js';
import { deprovisionResource } from './deprovision-resource.js';
import { auditInfrastructure, type InfrastructureAuditSink } from './infrastructure-audit.js';
import { decodeRendered, encodeRendered, maskRendered } from './rendered-specs.js';
import { prepareWorkloads, type PreparedWorkload } from './workload-set.js';
import { faultPoint, faultingSink } from './fault-injection.js';
import { intentRecordingDrivers } from './provision-intents.js';

/** What one run needs from the engine, for one environment. */
export interface RunContext {
  environment: Environment;
  runtime: Runtime;
  store: Store;
  secrets: SecretBox;
  clock: Clock;
  drivers: ReadonlyMap<string, ResourceDriver>;
  definitions: () => Promise<readonly ResourceDefinition[]> | readonly ResourceDefinition[];
  contexts: ContextStore;
  portRange: { from: number; to: number };
  isPortFree: (port: number) => Promise<boolean>;
  logger: Logger;
  /** Where infrastructure changes are recorded (the server's audit log). */
  audit?: InfrastructureAuditSink;
}

export interface DeploymentPlanAnswer {
  app: string;
  env: string;
  workloads: { name: string; action: string; reason: string; changes: FieldChange[] }[];
  resources: { uid: string; type: string; action: string; reason: string }[];
  summary: string;
  /** Nothing to create, update, delete or detach: deploying this restarts nothing. */
  noChanges: boolean;
}

/** Everything the stages produce up to render. */
interface Rendered {
  prepared: PreparedWorkload[];
  graph: ResourceGraph;
  resources: Map<string, ProvisionedResource>;
  rendered: RenderedWorkload[];
  /** workload → port name → host port. */
  ports: Map<string, Record<string, number>>;
}

/**
 * Runs one claimed deployment through every stage and records the outcome. Never throws for a
 * failed deployment: the failure is the result, recorded with its step, error and events. Returns
 * the finished deployment. `context` is the error that keeps it from running (its environment is
 * gone, its target cannot run here) when it cannot.
 *
 * From the graph step on, the deployment's stored graph carries the status and timings of every
 * node, saved as resources are provisioned and workloads applied.
 */
export async function runDeployment(
  context: RunContext | PavedError,
  deployment: Deployment,
  signal: AbortSignal,
  engine: DeploymentEngine,
): Promise<Deployment> {
  const store = engine.store;
  const { app, env, number } = deployment;
  const clock = context instanceof PavedError ? systemClock : context.clock;
  const now = (): string => clock.now().toISOString();
  const events = eventSink(engine, deployment);
  const emit = (level: 'info' | 'warn' | 'error', type: string, message: string, workload?: string): void =>
    events.sink({ level, type, message, ...(workload === undefined ? {} : { workload }) });
  const steps: DeploymentStep[] = deployment.steps.map((step) => ({ ...step }));
  const saveSteps = async (): Promise<void> => {
    await store.deployments.update(app, env, number, { steps: steps.map((step) => ({ ...step })) });
  };
  emit('info', 'deployment.started', `deployment ${number} started`);
  const graphRecorder = new GraphRecorder({
    clock,
    save: async (graph) => {
      await store.deployments.update(app, env, number, { graph });
    },
    onSaveError: (error) =>
      (context instanceof PavedError ? undefined : context.logger)?.warn(
        { err: error, app, env, deployment: number },
        'saving the resource graph failed; it is saved again at the next change',
      ),
  });

  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const entry = steps.find((candidate) => candidate.name === name);
    if (entry === undefined) throw new PavedError('INTERNAL', `deployment step "${name}" is not recorded`);
    signal.throwIfAborted();
    const started = Date.now();
    entry.status = 'running';
    entry.startedAt = now();
    await saveSteps();
    emit('info', 'step.started', `${name} started`);
    try {
      const result = await work();
      signal.throwIfAborted();
      entry.status = 'succeeded';
      entry.finishedAt = now();
      emit('info', 'step.succeeded', `${name} succeeded in ${Date.now() - started} ms`);
      if (name !== 'record') await saveSteps();
      return result;
    } catch (error) {
      entry.status = 'failed';
      entry.finishedAt = now();
      entry.error = signal.aborted ? messageOf(signal.reason) : messageOf(error);
      emit('error', 'step.failed', `${name} failed: ${entry.error}`);
      throw error;
    }
  };

  let applied: ApplyOutcome[] = [];
  let previous: Deployment | undefined;
  try {
    if (context instanceof PavedError) throw context;
    const { runtime } = context;
    const envRef = { app, env };
    previous = await store.deployments.current(app, env);
    const prepared = await step('validate', async () =>
      prepareWorkloads(deployment.workloads, context.contexts),
    );
    const workloads = prepared.map((entry) => entry.workload);
    const requests = await step('request', async () => requestResources(workloads));
    const definitions = await step('match', async () =>
      resolveDefinitions(
        await context.definitions(),
        requests.nodes,
        matchContext(context.environment, context.runtime.kind),
      ),
    );
    const graph = await step('graph', async () =>
      buildResourceGraph(requests, workloads, { definitions: definitions.definitions }),
    );
    graphRecorder.start(graph);
    const provisioned = await step('provision', async () => {
      const ports = await allocatePorts(context, deployment.workloads, prepared);
      const { resources } = await provisionGraph(graph, {
        drivers: intentRecordingDrivers(context, definitions.definitions),
        definitions: definitions.definitions,
        context: await provisionContext(context, prepared, ports, deployment.valuesVersions),
        previous: await previousResources(context),
        signal,
        clock,
        onProgress: (uid, progress) => graphRecorder.resource(uid, progress),
        persist: (uid, resource) => persistResource(context, uid, resource),
        onEvent: (event) => {
          emit(
            event.type === 'resource.failed' ? 'error' : 'info',
            event.type,
            `${event.uid}: ${event.message}`,
          );
          if (event.type === 'resource.provisioned' || event.type === 'resource.failed') {
            void auditInfrastructure(context.audit, {
              action: 'deployment.provision',
              app,
              env,
              subject: event.uid,
              outcome: event.type === 'resource.failed' ? 'failed' : 'succeeded',
              actor: deployment.actor,
              details: { deployment: number },
            });
          }
        },
      });
      return { resources, ports };
    });
    const rendered = await step('render', async () => {
      faultPoint('during-render');
      return renderWorkloads(workloads, {
        deployment: number,
        outputs: workloadOutputs(graph, provisioned.resources),
        contexts: new Map(prepared.map((entry) => [entry.workload.metadata.name, entry.contexts])),
        ports: provisioned.ports,
      });
    });
    const runtimePlan = await step('plan', async () => {
      const plan = planDeployment(rendered, currentWorkloads(context, previous), { prune: true });
      emit('info', 'plan.summary', plan.summary);
      return runtime.plan(envRef, rendered);
    });
    await step('apply', async () => {
      graphRecorder.applying();
      const result = await runtime.apply(runtimePlan, faultingSink(events.sink), signal);
      applied = result.workloads;
      graphRecorder.applied(result.workloads);
      for (const outcome of result.workloads) {
        if (outcome.action === 'unchanged') continue;
        await auditInfrastructure(context.audit, {
          action: 'deployment.apply',
          app,
          env,
          subject: outcome.workload,
          outcome: outcome.ok ? 'succeeded' : 'failed',
          actor: deployment.actor,
          details: { deployment: number, action: outcome.action },
        });
      }
      await events.flush();
      const failed = result.workloads.filter((outcome) => !outcome.ok);
      if (signal.aborted) signal.throwIfAborted();
      if (failed.length > 0) throw new PavedError('TARGET_FAILED', failed.map(describeFailure).join('\n'));
    });
    faultPoint('before-record');
    const recording = await step('record', async () =>
      planRecord(
        context,
        {
          prepared,
          graph,
          resources: provisioned.resources,
          rendered,
          ports: provisioned.ports,
        },
        runtimePlan,
      ),
    );
    const { finished } = recording;
    // The digest of every image each workload runs, as the target resolved it (docker targets).
    if (Array.isArray(finished.rendered)) finished.rendered = withImages(finished.rendered, applied);
    const finalGraph = graphRecorder.finish();
    await graphRecorder.flush();
    // One transaction makes the deployment current together with its routes, released ports and
    // detached resources: a server killed inside it leaves none of them written, and the
    // interrupted deployment is recovered like one killed before the record step.
    const succeeded = await store.transaction(async (trx) => {
      await trx.routes.replace(app, env, recording.routes);
      faultPoint('mid-record');
      for (const workload of recording.releasePorts) await trx.ports.release(app, env, workload);
      for (const resource of recording.detach) await trx.resources.put(detached(resource));
      return trx.deployments.update(app, env, number, {
        status: 'succeeded',
        finishedAt: now(),
        steps,
        ...finished,
        ...(finalGraph === undefined ? {} : { graph: finalGraph }),
      });
    });
    emit('info', 'deployment.succeeded', `deployment ${number} succeeded`);
    // Not needed by the new deployment and holding no data: deprovisioned once it is current. A
    // server killed before this leaves them provisioned (and recorded); nothing uses them.
    for (const resource of recording.deprovision) await deprovision(context, resource, deployment);
    await events.flush();
    return succeeded;
  } catch (error) {
    const cancelled =
      signal.aborted && !(signal.reason instanceof PavedError && signal.reason.code === 'UNAVAILABLE');
    const message = signal.aborted ? messageOf(signal.reason) : messageOf(error);
    for (const entry of steps) if (entry.status === 'pending') entry.status = 'skipped';
    if (!(context instanceof PavedError) && applied.length > 0) {
      await restore(context, previous, applied, events.sink);
    }
    emit(
      cancelled ? 'warn' : 'error',
      cancelled ? 'deployment.cancelled' : 'deployment.failed',
      `deployment ${number} ${cancelled ? 'was cancelled' : 'failed'}: ${message}; the environment stays on ${previous === undefined ? 'what it ran before' : `deployment ${previous.number}`}`,
    );
    await events.flush();
    const finalGraph = graphRecorder.finish(message);
    await graphRecorder.flush();
    return store.deployments.update(app, env, number, {
      status: cancelled ? 'cancelled' : 'failed',
      finishedAt: now(),
      steps,
      error: message,
      ...(finalGraph === undefined ? {} : { graph: finalGraph }),
    });
  }
}

/**
 * The plan of a request without side effects: nothing is provisioned, no port is allocated (new
 * workloads plan without a host port), nothing starts. `given` names the workloads the request
 * gave; the others of `stored` are kept from the current deployment and planned as such.
 */
export async function planDeploymentRequest(
  context: RunContext,
  stored: DeploymentWorkload[],
  current: Deployment | undefined,
  given?: readonly string[],
): Promise<DeploymentPlanAnswer> {
  const { environment } = context;
  const prepared = prepareWorkloads(stored, context.contexts);
  const workloads = prepared.map((entry) => entry.workload);
  const requests = requestResources(workloads);
  const { definitions } = resolveDefinitions(
    await context.definitions(),
    requests.nodes,
    matchContext(environment, context.runtime.kind),
  );
  const graph = buildResourceGraph(requests, workloads, { definitions });
  const existing = await context.store.ports.list(environment.app, environment.name);
  const ports = new Map<string, Record<string, number>>();
  for (const entry of prepared) {
    const name = entry.workload.metadata.name;
    const assigned: Record<string, number> = {};
    for (const port of Object.keys(entry.workload.service?.ports ?? {})) {
      const found = existing.find((allocation) => allocation.workload === name && allocation.port === port);
      if (found !== undefined) assigned[port] = found.hostPort;
    }
    ports.set(name, assigned);
  }
  const { resources } = await provisionGraph(graph, {
    drivers: context.drivers,
    definitions,
    context: await provisionContext(context, prepared, ports),
    previous: await previousResources(context),
    planOnly: true,
  });
  const rendered = renderWorkloads(workloads, {
    deployment: (current?.number ?? 0) + 1,
    outputs: workloadOutputs(graph, resources),
    contexts: new Map(prepared.map((entry) => [entry.workload.metadata.name, entry.contexts])),
    ports,
  });
  // The runtime's own checks (registry images on the process target) are plan-time errors too.
  await context.runtime.plan({ app: environment.app, env: environment.name }, rendered);
  const active = await context.store.resources.list(environment.app, environment.name);
  const desired: PlannedResourceState[] = [...resources.values()].map((resource) => ({
    uid: resource.uid,
    type: resource.type,
    definition: resource.definition,
    params: resource.params,
    stateful: resource.stateful,
  }));
  const byUid = new Map(desired.map((resource) => [resource.uid, resource]));
  const givenNames = new Set(given ?? stored.map((workload) => workload.name));
  const plan = planDeployment(rendered, currentWorkloads(context, current), {
    // `stored` is already the set after the deploy: what it lacks is removed (`--prune`).
    prune: true,
    kept: stored.map((workload) => workload.name).filter((name) => !givenNames.has(name)),
    resources: {
      desired,
      // Active resources do not keep their params; compare definitions only.
      current: active.map((resource) => ({
        uid: resource.uid,
        type: resource.type,
        definition: { name: resource.definition, version: resource.definitionVersion },
        params: byUid.get(resource.uid)?.params ?? {},
        stateful: resource.stateful,
      })),
    },
  });
  return {
    app: environment.app,
    env: environment.name,
    workloads: plan.workloads,
    resources: plan.resources,
    summary: plan.summary,
    noChanges: plan.isEmpty,
  };
}

function matchContext(environment: Environment, targetKind: RuntimeKind): MatchContext {
  return { app: environment.app, env: environment.name, envType: environment.type, targetKind };
}

/**
 * Stable host ports for every service port of every workload: where the process target listens,
 * and where the docker target forwards to the current container; the gateway's upstreams.
 */
async function allocatePorts(
  context: RunContext,
  stored: readonly DeploymentWorkload[],
  prepared: readonly PreparedWorkload[],
): Promise<Map<string, Record<string, number>>> {
  const wanted = prepared.flatMap((entry) =>
    Object.keys(entry.workload.service?.ports ?? {}).map((port) => ({
      workload: entry.workload.metadata.name,
      port,
    })),
  );
  const ports = new Map<string, Record<string, number>>(stored.map((workload) => [workload.name, {}]));
  if (wanted.length === 0) return ports;
  const allocations = await context.store.ports.allocate(
    context.environment.app,
    context.environment.name,
    wanted,
    context.portRange,
    context.isPortFree,
    // A random first candidate: another Paved server on this host (its own store) searching
    // the same range would otherwise race this one for the same lowest free port.
    context.portRange.from + randomInt(context.portRange.to - context.portRange.from + 1),
  );
  for (const allocation of allocations) {
    const forWorkload = ports.get(allocation.workload);
    if (forWorkload !== undefined) forWorkload[allocation.port] = allocation.hostPort;
  }
  return ports;
}

async function provisionContext(
  context: RunContext,
  prepared: readonly PreparedWorkload[],
  ports: ReadonlyMap<string, Record<string, number>>,
  /** The versions the deployment pinned when submitted; the latest when absent (plans, old rows). */
  pinned?: { app: number; env: number },
): Promise<Omit<ProvisionContext, 'workload' | 'dependencies'>> {
  const { environment, runtime, store, secrets } = context;
  const network: Record<string, NetworkEndpoint> = {};
  for (const { workload } of prepared) {
    const name = workload.metadata.name;
    const declaredPorts = Object.fromEntries(
      Object.entries(workload.service?.ports ?? {}).map(([port, spec]) => [port, spec.port]),
    );
    // On container targets a workload answers on its name in the network at the port its
    // container listens on (`targetPort`); the docker target's service address listens on that
    // port and on the declared one.
    const listening = Object.fromEntries(
      Object.entries(workload.service?.ports ?? {}).map(([port, spec]) => [
        port,
        spec.targetPort ?? spec.port,
      ]),
    );
    network[name] =
      runtime.kind === 'process'
        ? { hostname: '127.0.0.1', ports: { ...ports.get(name) }, declaredPorts }
        : { hostname: name, ports: listening, declaredPorts };
  }
  const values: Record<string, { value: string; secret: boolean }> = {};
  // Environment values win over the app's.
  for (const [scope, version] of [
    [{ app: environment.app }, pinned?.app],
    [{ app: environment.app, env: environment.name }, pinned?.env],
  ] as const) {
    for (const entry of await store.values.list(scope, version)) {
      values[entry.key] = {
        value: entry.secret ? secrets.open(entry.value) : entry.value,
        secret: entry.secret,
      };
    }
  }
  return {
    app: environment.app,
    env: environment.name,
    envType: environment.type,
    target: { name: environment.target, kind: runtime.kind },
    ...(runtime.resourceContainers === undefined ? {} : { containers: runtime.resourceContainers }),
    network,
    values,
  };
}

async function previousResources(context: RunContext): Promise<Map<string, PreviousResource>> {
  const { environment, store, secrets } = context;
  const previous = new Map<string, PreviousResource>();
  for (const resource of await store.resources.list(environment.app, environment.name)) {
    if (resource.status !== 'ready' && resource.status !== 'detached') continue;
    previous.set(resource.uid, {
      state: resource.state,
      outputs: resource.outputs,
      secrets:
        resource.sealedSecrets === undefined
          ? {}
          : (JSON.parse(secrets.open(resource.sealedSecrets)) as Record<string, string>),
    });
  }
  return previous;
}

async function persistResource(
  context: RunContext,
  uid: string,
  resource: ProvisionedResource,
): Promise<void> {
  const { environment, store, secrets } = context;
  await store.resources.put({
    app: environment.app,
    env: environment.name,
    uid,
    type: resource.type,
    class: resource.class,
    resId: resource.resId,
    definition: resource.definition.name,
    definitionVersion: resource.definition.version,
    driver: resource.driver,
    status: 'ready',
    state: resource.state,
    outputs: resource.outputs,
    ...(Object.keys(resource.secrets).length === 0
      ? {}
      : { sealedSecrets: secrets.seal(JSON.stringify(resource.secrets)) }),
    stateful: resource.stateful,
  });
}

/** The workloads the current deployment runs, with their full specs for a field-level diff. */
function currentWorkloads(context: RunContext, current: Deployment | undefined): CurrentWorkload[] {
  if (current?.sealedRuntimeSpec === undefined) return [];
  try {
    return decodeRendered(context.secrets.open(current.sealedRuntimeSpec)).map((spec) => ({
      name: spec.name,
      specHash: spec.specHash,
      spec,
    }));
  } catch (error) {
    context.logger.warn(
      { err: error },
      'the runtime spec of the current deployment cannot be read; planning without it',
    );
    return [];
  }
}

/** The last steps of a successful run: routes, released ports, resources no longer needed. */
/** What the record step writes, computed first so that it is written in one transaction. */
interface RecordPlan {
  routes: Omit<GatewayRoute, 'app' | 'env'>[];
  /** Workloads the deployment removes: their host ports go back to the pool. */
  releasePorts: string[];
  /** Stateful resources no longer asked for: kept with their data, marked detached. */
  detach: ActiveResource[];
  /** Other resources no longer asked for: deprovisioned after the deployment is current. */
  deprovision: ActiveResource[];
  finished: Partial<Pick<Deployment, 'rendered' | 'sealedRuntimeSpec'>>;
}

async function planRecord(
  context: RunContext,
  result: Rendered,
  runtimePlan: RuntimePlan,
): Promise<RecordPlan> {
  const { environment, store, secrets } = context;
  const { app, name: env } = environment;
  const routes: RecordPlan['routes'] = [];
  for (const resource of result.resources.values()) {
    if (resource.type !== 'route') continue;
    const state = resource.state as { host: string; path: string; port: string | number; workload: string };
    const workload = result.prepared.find(
      (entry) => entry.workload.metadata.name === state.workload,
    )?.workload;
    const declared = Object.entries(workload?.service?.ports ?? {});
    const portName = declared.find(
      ([name, spec]) => name === String(state.port) || String(spec.port) === String(state.port),
    )?.[0];
    const hostPort = portName === undefined ? undefined : result.ports.get(state.workload)?.[portName];
    if (hostPort === undefined) {
      throw new PavedError(
        'INVALID_INPUT',
        `route "${resource.uid}" sends traffic to port ${state.port} of workload "${state.workload}", which has no such port; its ports are ${declared.map(([name, spec]) => `${name} (${spec.port})`).join(', ') || '(none)'}`,
      );
    }
    routes.push({
      workload: state.workload,
      host: state.host,
      path: state.path,
      upstream: `127.0.0.1:${hostPort}`,
    });
  }
  const plan: RecordPlan = {
    routes,
    releasePorts: runtimePlan.items.filter((item) => item.action === 'delete').map((item) => item.workload),
    detach: [],
    deprovision: [],
    finished: {
      rendered: maskRendered(result.rendered),
      sealedRuntimeSpec: secrets.seal(encodeRendered(result.rendered)),
    },
  };
  for (const resource of await store.resources.list(app, env)) {
    if (result.resources.has(resource.uid)) continue;
    if (!resource.stateful) plan.deprovision.push(resource);
    else if (resource.status !== 'detached') plan.detach.push(resource);
  }
  return plan;
}

/** Adds `images` (container, reference, digest) to each masked rendered workload the target reported. */
function withImages(rendered: unknown[], applied: readonly ApplyOutcome[]): unknown[] {
  return rendered.map((entry) => {
    const name = (entry as { name?: unknown }).name;
    const images = applied.find((outcome) => outcome.workload === name)?.images;
    return images === undefined ? entry : { ...(entry as object), images };
  });
}

function detached(resource: ActiveResource): Omit<ActiveResource, 'updatedAt'> {
  const { updatedAt: _updatedAt, ...rest } = resource;
  return { ...rest, status: 'detached' };
}

/** A resource a deploy no longer asks for: deprovisioned, or kept (and logged) when that fails. */
async function deprovision(
  context: RunContext,
  resource: ActiveResource,
  deployment: Pick<Deployment, 'number' | 'actor'>,
): Promise<void> {
  try {
    await deprovisionResource(context, resource, { actor: deployment.actor, deployment: deployment.number });
  } catch (error) {
    context.logger.warn(
      { err: error, uid: resource.uid },
      'deprovisioning a resource no longer needed failed; it is kept',
    );
  }
}

/**
 * After a failed or cancelled apply, puts workloads that did change back the way the current
 * deployment runs them, so the environment stays on what it ran before. Best effort: what cannot
 * be restored is reported as an event.
 */
async function restore(
  context: RunContext,
  previous: Deployment | undefined,
  applied: readonly ApplyOutcome[],
  sink: (event: {
    level: 'info' | 'warn' | 'error';
    type: string;
    message: string;
    workload?: string;
  }) => void,
): Promise<void> {
  const changed = applied.filter(
    (outcome) => outcome.ok && (outcome.action === 'create' || outcome.action === 'update'),
  );
  if (changed.length === 0) return;
  const specs = currentWorkloads(context, previous);
  const items: RuntimePlan['items'] = [];
  for (const outcome of changed) {
    const before = specs.find((spec) => spec.name === outcome.workload)?.spec;
    if (outcome.action === 'create' && before === undefined) {
      items.push({
        workload: outcome.workload,
        action: 'delete',
        reason: 'the deployment that created it failed',
      });
    } else if (before !== undefined) {
      items.push({
        workload: outcome.workload,
        action: 'update',
        reason: 'restoring the previous deployment',
        desired: before,
      });
    }
  }
  try {
    const result = await context.runtime.apply(
      { env: { app: context.environment.app, env: context.environment.name }, items },
      sink,
      new AbortController().signal,
    );
    for (const outcome of result.workloads) {
      sink({
        level: outcome.ok ? 'info' : 'error',
        type: outcome.ok ? 'workload.restored' : 'workload.restore-failed',
        workload: outcome.workload,
        message: outcome.ok
          ? `workload "${outcome.workload}" is back as the previous deployment ran it`
          : `workload "${outcome.workload}" could not be restored: ${outcome.error ?? 'unknown error'}`,
      });
    }
  } catch (error) {
    sink({
      level: 'error',
      type: 'workload.restore-failed',
      message: `restoring failed: ${messageOf(error)}`,
    });
  }
}

function describeFailure(outcome: ApplyOutcome): string {
  const lines = [
    `workload "${outcome.workload}" (${outcome.action}) failed: ${outcome.error ?? 'unknown error'}`,
  ];
  const evidence = outcome.evidence;
  if (evidence?.probe !== undefined) lines.push(`  probe: ${evidence.probe}`);
  if (evidence?.lastStatus !== undefined) lines.push(`  last status: ${evidence.lastStatus}`);
  if (evidence?.lastLogLines !== undefined && evidence.lastLogLines.length > 0) {
    lines.push('  last log lines:', ...evidence.lastLogLines.map((line) => `    ${line}`));
  }
  return lines.join('\n');
}

function messageOf(error: unknown): string {
  if (error instanceof PavedError) {
    const problems = error.details?.problems;
    if (Array.isArray(problems) && problems.length > 1) {
      return (problems as { message: string }[]).map((problem) => problem.message).join('; ');
    }
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
