/**
 * The seam between the deployment engine and the places workloads run (a local process supervisor,
 * a Docker/Podman engine, a Kubernetes cluster). Every Runtime passes the same conformance suite
 * (`packages/runtimes/src/testing/describe-runtime.ts`).
 */
import type { ResourceContainers } from './resource-containers.js';
import type { HttpProbe, Probe } from './score/types.js';

export type RuntimeKind = 'process' | 'docker' | 'kubernetes';

export interface EnvironmentRef {
  app: string;
  env: string;
}

/** A workload with every placeholder substituted: what a runtime is asked to run. */
export interface RenderedWorkload {
  name: string;
  /** The deployment number that rendered this spec; runtimes label what they start with it. */
  deployment: number;
  /**
   * Content hash of everything that affects the running instance (containers, files, ports,
   * variables including secret ones). Equal hashes mean "nothing to restart".
   */
  specHash: string;
  containers: Record<string, RenderedContainer>;
  /** The workload's service ports, by name. */
  ports: Record<string, RenderedPort>;
}

export interface RenderedPort {
  /** The port other workloads use (Score `service.ports.*.port`). */
  port: number;
  /** The port the container listens on (Score `targetPort`, defaulting to `port`). */
  targetPort: number;
  protocol: 'TCP' | 'UDP';
  /**
   * A stable host port assigned by the platform, where the target publishes this port on
   * 127.0.0.1 (the process target always; container targets when a route or another
   * environment-external client needs it).
   */
  hostPort?: number;
}

export interface RenderedContainer {
  /** An image reference, or `.` with `context` set for an image built from an uploaded context. */
  image: string;
  /** The unpacked build context on the server's disk, for `image: .`. */
  context?: { dir: string; hash: string };
  command?: string[];
  args?: string[];
  /** `command.<i>` / `args.<i>` of the arguments that received a secret output: never shown. */
  secretArguments?: string[];
  /** Final environment, secret values included; `secretVariables` names the ones never to log. */
  variables: Record<string, string>;
  secretVariables: string[];
  files: RenderedFile[];
  volumes: RenderedVolume[];
  before: Record<string, { ready: 'started' | 'healthy' | 'complete' }>;
  limits?: { memory?: string; cpu?: string };
  requests?: { memory?: string; cpu?: string };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}

export interface RenderedFile {
  target: string;
  /** UTF-8 text or decoded binary content. */
  content: string | Uint8Array;
  /** Octal mode, e.g. `0644`. */
  mode?: string;
  /** The content received a secret output: write it readable by the workload only, never show it. */
  secret?: boolean;
}

export interface RenderedVolume {
  target: string;
  /** The name the target knows the volume by (a named volume, a directory). */
  source: string;
  path?: string;
  readOnly: boolean;
}

export type PlanAction = 'create' | 'update' | 'unchanged' | 'delete';

export interface RuntimePlan {
  env: EnvironmentRef;
  items: RuntimePlanItem[];
}

export interface RuntimePlanItem {
  workload: string;
  action: PlanAction;
  /** Why, in a few words: "spec changed", "not running", "not in the deployment". */
  reason?: string;
  /** The desired spec; absent for `delete`. */
  desired?: RenderedWorkload;
}

export interface RuntimeEvent {
  level: 'info' | 'warn' | 'error';
  /** e.g. `workload.starting`, `workload.ready`, `workload.stopped`, `build.output`. */
  type: string;
  workload?: string;
  container?: string;
  message: string;
  /**
   * Set on events a runtime sees outside `apply()` (restarts, failed liveness probes): the
   * environment and the deployment whose instance it concerns, so the server can record them.
   */
  source?: { app: string; env: string; deployment: number };
}

export type EventSink = (event: RuntimeEvent) => void;

export interface ApplyResult {
  workloads: ApplyOutcome[];
}

export interface ApplyOutcome {
  workload: string;
  action: PlanAction;
  ok: boolean;
  /** When not ok: what failed and the evidence (probe URL, last status, last log lines). */
  error?: string;
  evidence?: { probe?: string; lastStatus?: string; lastLogLines?: string[] };
  /**
   * The image each container runs, for the deployment record (targets that run images): the
   * reference used and its digest — the registry digest (`sha256:…` of the manifest) for pulled
   * images, the image ID (`sha256:…`) for images built from a context.
   */
  images?: { container: string; reference: string; digest: string }[];
}

export type WorkloadState = 'starting' | 'running' | 'ready' | 'failed' | 'stopped';

export interface WorkloadStatus {
  name: string;
  deployment?: number;
  state: WorkloadState;
  ready: boolean;
  containers: ContainerStatus[];
  /** Where each service port answers from the server's host, e.g. `127.0.0.1:41234`. */
  ports: { name: string; port: number; address?: string }[];
  message?: string;
}

export interface ContainerStatus {
  name: string;
  state: 'waiting' | 'running' | 'exited' | 'completed' | 'failed';
  restarts: number;
  exitCode?: number;
  image?: string;
  /** Liveness/readiness probe failures counted since the instance started. */
  probeFailures?: number;
  /** The last failed readiness or liveness check: the probe, its answer, when (ISO 8601). */
  lastProbeFailure?: { probe: string; status: string; at: string };
}

export interface LogOptions {
  container?: string;
  follow?: boolean;
  /** Only lines written at or after this time. */
  since?: Date;
  /** Last N lines (before following). */
  tail?: number;
  signal?: AbortSignal;
}

export interface LogLine {
  time: string;
  container: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface DestroyOptions {
  /** Also delete volume data (stateful: kept by default, see the contracts' deploy semantics). */
  deleteData?: boolean;
}

export interface Runtime {
  readonly kind: RuntimeKind;
  /** Find what this runtime already runs (after a server restart) without touching it. */
  init?(): Promise<void>;
  /** Compare the desired workloads of an environment with what runs now. */
  plan(env: EnvironmentRef, desired: RenderedWorkload[]): Promise<RuntimePlan>;
  /**
   * Make it so: start new instances, wait until they are ready (Paved's own probes), then stop
   * the old ones. Workloads not named in the plan are not touched.
   */
  apply(plan: RuntimePlan, events: EventSink, signal: AbortSignal): Promise<ApplyResult>;
  status(env: EnvironmentRef): Promise<WorkloadStatus[]>;
  logs(env: EnvironmentRef, workload: string, options: LogOptions): AsyncIterable<LogLine>;
  /**
   * Remove every workload of the environment and what the runtime created for it. Data the
   * runtime keeps for volumes outlives this unless `deleteData` is set (`envs delete --delete-data`).
   */
  destroy(env: EnvironmentRef, options?: DestroyOptions): Promise<void>;
  /** Stop supervising (server shutdown); running workloads keep running. */
  close?(): Promise<void>;
  /** Dedicated server containers for resources, on targets that run containers (see `ProvisionContext.containers`). */
  readonly resourceContainers?: ResourceContainers;
}

export type { HttpProbe, Probe };
