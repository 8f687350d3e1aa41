/**
 * The provision stage: calls each resource's driver in dependency order, independent resources in
 * parallel, feeding the outputs of dependencies into params. It does no I/O of its own: drivers
 * provision, and `persist` (given by the caller) records each success before anything depends on
 * it, so a crashed deployment resumes instead of creating resources twice.
 */
import { systemClock, type Clock } from '../clock.js';
import type { ProvisionContext, ProvisionRequest, ResourceDriver } from '../driver.js';
import { PavedError, type Problem } from '../errors.js';
import type { GraphNodeProgress, ResourceGraph, ResourceGraphNode } from '../graph/resource-graph.js';
import type { ResourceDefinition } from '../matching/resource-definition.js';
import { expandTemplate, UNKNOWN_OUTPUT, type ResourceOutputs } from '../render/expand-template.js';
import type { PreviousResource, ProvisionedResource } from './provisioned-resource.js';

export interface ProvisionEvent {
  type: 'resource.started' | 'resource.provisioned' | 'resource.planned' | 'resource.failed' | 'resource.log';
  uid: string;
  message: string;
  durationMs?: number;
}

export interface ProvisionGraphOptions {
  /** Driver id → driver. */
  drivers: ReadonlyMap<string, ResourceDriver>;
  /** Resource uid → its matched definition. */
  definitions: ReadonlyMap<string, ResourceDefinition>;
  /** The environment; `workload` and `dependencies` are filled in per resource. */
  context: Omit<ProvisionContext, 'workload' | 'dependencies'>;
  /** Workload name → metadata, for `${metadata.*}` in the params of its resources. */
  workloadMetadata?: ReadonlyMap<string, Record<string, unknown>>;
  /** Resource uid → what its last successful provisioning returned. */
  previous?: ReadonlyMap<string, PreviousResource>;
  /** Called after each success, before any dependent starts; a failure here fails the resource. */
  persist?: (uid: string, resource: ProvisionedResource) => Promise<void>;
  /** At most this many drivers run at once; 8 unless given. */
  concurrency?: number;
  signal?: AbortSignal;
  /** Given to every driver as `ProvisionRequest.shared`; a new, empty map per run unless given. */
  shared?: Map<string, unknown>;
  onEvent?: (event: ProvisionEvent) => void;
  /**
   * Called whenever a resource's status changes: `provisioning` when it starts (checks, then its
   * driver), `provisioned` or `failed` with timings, and `skipped` at the end for every resource
   * that never started because the run stopped (a failure, an abort). Not called in a plan.
   */
  onProgress?: (uid: string, progress: GraphNodeProgress) => void;
  /** Where the timestamps of `onProgress` come from; the system clock by default. */
  clock?: Clock;
  /**
   * Provision nothing: check definitions, drivers, inputs and params, and give each resource the
   * outputs of its last provisioning, or UNKNOWN_OUTPUT markers. Reports every problem at once.
   */
  planOnly?: boolean;
}

export interface ProvisionGraphResult {
  /** Resource uid → result, in the order they finished. */
  resources: Map<string, ProvisionedResource>;
}

const DEFAULT_CONCURRENCY = 8;

/** A failure on one resource, before the whole run is turned into one error. */
class NodeFailure extends Error {
  constructor(
    readonly node: ResourceGraphNode,
    readonly error: unknown,
    /** True when the driver itself failed, not the checks before calling it. */
    readonly inDriver: boolean,
    readonly definition?: ResourceDefinition,
  ) {
    super(messageOf(error), { cause: error });
    this.name = 'NodeFailure';
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Provisions every resource of the graph. Stops starting drivers at the first failure, lets the
 * running ones finish, and throws DRIVER_FAILED naming the resource, its definition and its driver
 * (or INVALID_INPUT when the checks before the driver failed). An aborted signal stops scheduling
 * and rejects with the signal's reason.
 *
 * @example
 * const { resources } = await provisionGraph(graph, { drivers, definitions, context, persist });
 */
export async function provisionGraph(
  graph: ResourceGraph,
  options: ProvisionGraphOptions,
): Promise<ProvisionGraphResult> {
  const { signal, onEvent } = options;
  const shared = options.shared ?? new Map<string, unknown>();
  const planOnly = options.planOnly === true;
  const clock = options.clock ?? systemClock;
  const progress = planOnly ? undefined : options.onProgress;
  const started = new Set<string>();
  const limit = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const resources = new Map<string, ProvisionedResource>();
  const failures: NodeFailure[] = [];
  const waiting = new Map<string, number>();
  const ready: ResourceGraphNode[] = [];
  for (const node of graph.resources) {
    const count = graph.dependenciesOf(node.id).length;
    waiting.set(node.id, count);
    if (count === 0) ready.push(node);
  }
  signal?.throwIfAborted();

  await new Promise<void>((resolve) => {
    let active = 0;
    const stopped = (): boolean => signal?.aborted === true || (!planOnly && failures.length > 0);
    const pump = (): void => {
      while (!stopped() && active < limit && ready.length > 0) {
        const node = ready.shift();
        if (node === undefined) break;
        active += 1;
        started.add(node.id);
        const startedAt = clock.now();
        progress?.(node.id, { status: 'provisioning', startedAt: startedAt.toISOString() });
        const finished = (): Pick<GraphNodeProgress, 'startedAt' | 'finishedAt' | 'durationMs'> => {
          const finishedAt = clock.now();
          return {
            startedAt: startedAt.toISOString(),
            finishedAt: finishedAt.toISOString(),
            durationMs: finishedAt.getTime() - startedAt.getTime(),
          };
        };
        void provisionNode(node, resources, options, shared)
          .then((result) => {
            progress?.(node.id, { status: 'provisioned', ...finished() });
            resources.set(node.id, result);
            for (const dependent of graph.dependentsOf(node.id)) {
              const left = (waiting.get(dependent) ?? 0) - 1;
              waiting.set(dependent, left);
              const next = graph.resource(dependent);
              if (left === 0 && next !== undefined) ready.push(next);
            }
          })
          .catch((error: unknown) => {
            const failure = error instanceof NodeFailure ? error : new NodeFailure(node, error, false);
            failures.push(failure);
            progress?.(node.id, { status: 'failed', ...finished(), error: messageOf(failure.error) });
            onEvent?.({ type: 'resource.failed', uid: node.id, message: messageOf(failure.error) });
          })
          .finally(() => {
            active -= 1;
            pump();
          });
      }
      if (active === 0) {
        signal?.removeEventListener('abort', pump);
        resolve();
      }
    };
    signal?.addEventListener('abort', pump, { once: true });
    pump();
  });

  if (progress !== undefined && (signal?.aborted === true || failures.length > 0)) {
    for (const node of graph.resources) if (!started.has(node.id)) progress(node.id, { status: 'skipped' });
  }
  if (signal?.aborted === true) throw signal.reason;
  if (failures.length > 0) throw toError(failures, graph, resources, planOnly);
  return { resources };
}

function toError(
  failures: NodeFailure[],
  graph: ResourceGraph,
  resources: ReadonlyMap<string, ProvisionedResource>,
  planOnly: boolean,
): PavedError {
  const notProvisioned = graph.resources.map((node) => node.id).filter((uid) => !resources.has(uid));
  const first = failures[0];
  if (first === undefined) return new PavedError('INTERNAL', 'provisioning failed without a failure');
  if (first.inDriver && !planOnly) {
    const { node, definition } = first;
    const how =
      definition === undefined
        ? ''
        : ` with definition "${definition.name}" (version ${definition.version}, driver ${definition.driver})`;
    return new PavedError(
      'DRIVER_FAILED',
      `resource "${node.id}" failed to provision${how}: ${messageOf(first.error)}`,
      {
        cause: first.error,
        details: {
          uid: node.id,
          definition: definition?.name,
          driver: definition?.driver,
          provisioned: [...resources.keys()],
          notProvisioned,
        },
      },
    );
  }
  const problems: Problem[] = failures.flatMap((failure) => {
    const details = failure.error instanceof PavedError ? failure.error.details?.problems : undefined;
    if (Array.isArray(details)) return details as Problem[];
    return [{ path: `resources.${failure.node.id}`, message: messageOf(failure.error) }];
  });
  if (failures.length === 1 && first.error instanceof PavedError) return first.error;
  return PavedError.invalid(
    `${problems.length} problem(s) provisioning resources; first: ${problems[0]?.message ?? ''}`,
    problems,
  );
}

/** Checks, expands params, then calls the driver (or plans); rejects with a NodeFailure. */
async function provisionNode(
  node: ResourceGraphNode,
  done: ReadonlyMap<string, ProvisionedResource>,
  options: ProvisionGraphOptions,
  shared: Map<string, unknown>,
): Promise<ProvisionedResource> {
  const started = Date.now();
  const fail = (message: string, problems?: Problem[]): NodeFailure =>
    new NodeFailure(
      node,
      problems === undefined
        ? new PavedError('INVALID_INPUT', message, { details: { uid: node.id } })
        : PavedError.invalid(message, problems),
      false,
    );

  const definition = options.definitions.get(node.id);
  if (definition === undefined) {
    throw fail(`resource "${node.id}" has no matched definition: match definitions before provisioning`);
  }
  const driver = options.drivers.get(definition.driver);
  if (driver === undefined) {
    throw fail(
      `resource "${node.id}": definition "${definition.name}" names driver "${definition.driver}", which this server does not have; ` +
        `its drivers are ${[...options.drivers.keys()].join(', ')}: fix the definition's driver`,
    );
  }
  const parsed = driver.inputs.safeParse({ ...definition.inputs.values, ...definition.inputs.secrets });
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(inputs)'}: ${issue.message}`,
    );
    throw fail(
      `resource "${node.id}": definition "${definition.name}" (driver ${driver.id}) has invalid inputs: ${issues.join('; ')}: fix the definition and apply it again`,
    );
  }

  // Dependencies are reached by the names the params use; the graph recorded which uid each means.
  const scopeResources = new Map<string, ResourceOutputs>();
  const dependencies: ProvisionContext['dependencies'] = {};
  for (const [name, uid] of Object.entries(node.references)) {
    const dependency = done.get(uid);
    if (dependency === undefined) continue;
    scopeResources.set(name, dependency);
    dependencies[name] = { outputs: dependency.outputs, secrets: dependency.secrets };
  }
  const owner = node.claims[0];
  const metadata = (owner === undefined ? undefined : options.workloadMetadata?.get(owner.workload)) ?? {};
  const problems: Problem[] = [];
  const params = expandValue(node.params, 'params', (value, path) => {
    const expansion = expandTemplate(value, { metadata, resources: scopeResources }, { keepType: true });
    for (const error of expansion.errors) {
      const where =
        owner === undefined ? `resource "${node.id}"` : `workload "${owner.workload}" resource ${owner.name}`;
      problems.push({ path: `resources.${node.id}.${path}`, message: `${where} ${path}: ${error}` });
    }
    return expansion.value;
  }) as Record<string, unknown>;
  if (problems.length > 0) {
    throw fail(
      problems.length === 1
        ? (problems[0]?.message ?? '')
        : `${problems.length} problems in the params of "${node.id}"`,
      problems,
    );
  }

  const request: Omit<ProvisionRequest, 'previousState' | 'log'> = {
    resource: {
      uid: node.id,
      type: node.type,
      class: node.class,
      id: node.resId,
      params,
      metadata: node.metadata,
    },
    context: {
      ...options.context,
      ...(node.shared || owner === undefined ? {} : { workload: owner.workload }),
      dependencies,
    },
    inputs: definition.inputs,
  };
  const base = {
    uid: node.id,
    type: node.type,
    class: node.class,
    resId: node.resId,
    definition: { name: definition.name, version: definition.version },
    driver: driver.id,
    params,
    stateful: definition.stateful ?? driver.stateful ?? false,
  };
  const previous = options.previous?.get(node.id);

  if (options.planOnly === true) {
    const planned = await planOutputs(driver, request, previous);
    options.onEvent?.({
      type: 'resource.planned',
      uid: node.id,
      message: `planned with definition "${definition.name}"`,
    });
    return { ...base, ...planned, status: 'planned' };
  }

  options.onEvent?.({
    type: 'resource.started',
    uid: node.id,
    message: `provisioning with driver ${driver.id}`,
  });
  let result;
  try {
    options.signal?.throwIfAborted();
    result = await driver.provision(
      {
        ...request,
        // Drivers keep passwords in secret outputs (state is stored in clear), so they get both.
        ...(previous === undefined
          ? {}
          : { previousState: previous.state, previousSecrets: previous.secrets }),
        log: (message) => options.onEvent?.({ type: 'resource.log', uid: node.id, message }),
        shared,
      },
      options.signal ?? new AbortController().signal,
    );
  } catch (error) {
    throw new NodeFailure(node, error, true, definition);
  }
  const provisioned: ProvisionedResource = {
    ...base,
    outputs: result.outputs,
    secrets: result.secrets,
    state: result.state,
    status: 'provisioned',
  };
  try {
    await options.persist?.(node.id, provisioned);
  } catch (error) {
    throw new NodeFailure(
      node,
      new Error(`provisioned, but recording the result failed: ${messageOf(error)}`, { cause: error }),
      true,
      definition,
    );
  }
  options.onEvent?.({
    type: 'resource.provisioned',
    uid: node.id,
    message: `provisioned with driver ${driver.id}`,
    durationMs: Date.now() - started,
  });
  return provisioned;
}

/**
 * Outputs a plan shows: what a pure driver gives now; else the last provisioning's; else markers
 * for the names the driver lists. A pure driver that cannot answer yet (a port of a workload not
 * deployed yet has no host port) falls back to the others; the deploy reports its error.
 */
async function planOutputs(
  driver: ResourceDriver,
  request: Omit<ProvisionRequest, 'previousState' | 'log'>,
  previous: PreviousResource | undefined,
): Promise<Pick<ProvisionedResource, 'outputs' | 'secrets' | 'state' | 'reused' | 'partial'>> {
  if (driver.pure === true) {
    try {
      const result = await driver.provision(
        {
          ...request,
          ...(previous === undefined
            ? {}
            : { previousState: previous.state, previousSecrets: previous.secrets }),
        },
        new AbortController().signal,
      );
      return { outputs: result.outputs, secrets: result.secrets, state: result.state };
    } catch {
      // Known only when deploying; shown as below.
    }
  }
  if (previous !== undefined) {
    return { outputs: previous.outputs, secrets: previous.secrets, state: previous.state, reused: true };
  }
  if (driver.outputNames === undefined) return { outputs: {}, secrets: {}, state: undefined, partial: true };
  const names = driver.outputNames(request);
  return {
    outputs: Object.fromEntries(names.values.map((name) => [name, UNKNOWN_OUTPUT])),
    secrets: Object.fromEntries(names.secrets.map((name) => [name, UNKNOWN_OUTPUT])),
    state: undefined,
  };
}

/** Applies `expand` to every string inside params, keeping the shape. */
function expandValue(
  value: unknown,
  path: string,
  expand: (value: string, path: string) => unknown,
): unknown {
  if (typeof value === 'string') return expand(value, path);
  if (Array.isArray(value)) return value.map((item, index) => expandValue(item, `${path}.${index}`, expand));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, expandValue(item, `${path}.${key}`, expand)]),
    );
  }
  return value;
}
