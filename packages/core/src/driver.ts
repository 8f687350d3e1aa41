/**
 * The seam between the resource graph and the code that provisions one kind of resource. Every
 * driver passes the same conformance suite (`packages/drivers/src/testing/describe-resource-driver.ts`).
 */
import type { ZodType } from 'zod';
import type { ResourceContainers } from './resource-containers.js';

export interface ResourceRef {
  /** Stable identity within the environment: `<type>.<class>#<id>`. */
  uid: string;
  type: string;
  class: string;
  id: string;
  params: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** What a driver may know about where the resource is being provisioned. */
export interface ProvisionContext {
  app: string;
  env: string;
  envType: string;
  target: { name: string; kind: 'process' | 'docker' | 'kubernetes' };
  /** The workload that asked for the resource; absent for shared resources. */
  workload?: string;
  /**
   * How workloads of this environment reach each other on its target: for the process target
   * `127.0.0.1` and the assigned host ports; for container targets the workload name and the
   * declared port.
   */
  network: Record<string, NetworkEndpoint>;
  /** Values and secrets set with `paved values` for the app/environment (for `environment`). */
  values: Record<string, { value: string; secret: boolean }>;
  /** Outputs of the resources this one depends on, by their resource name. */
  dependencies: Record<string, { outputs: Record<string, unknown>; secrets: Record<string, string> }>;
  /**
   * Server containers of their own for resources (the `container` driver), when the target can
   * run them (docker targets); absent elsewhere.
   */
  containers?: ResourceContainers;
}

/** How one workload is reached from the other workloads of its environment. */
export interface NetworkEndpoint {
  hostname: string;
  /** Port name → the port to connect to. */
  ports: Record<string, number>;
  /**
   * Port name → the port the Score file declares (`service.ports.*.port`), so a `service-port`
   * asking for a port by number finds it on targets that publish it elsewhere (process: a host port).
   */
  declaredPorts?: Record<string, number>;
}

/** The names of the outputs provisioning will return, values and secrets apart. */
export interface OutputNames {
  values: string[];
  secrets: string[];
}

export interface ProvisionRequest {
  resource: ResourceRef;
  context: ProvisionContext;
  /** Driver inputs from the matched definition, already validated against `driver.inputs`. */
  inputs: { values: Record<string, unknown>; secrets: Record<string, string> };
  /** What the last successful provisioning returned as state; absent the first time. */
  previousState?: unknown;
  /**
   * The secret outputs the last successful provisioning returned; absent the first time. State is
   * stored in plain text, so drivers that generate credentials (`postgres`, `mysql`, `redis`,
   * `amqp`) keep them only in their secret outputs and read them back from here to keep them
   * unchanged; without them they must set new ones.
   */
  previousSecrets?: Record<string, string>;
  /** Progress and diagnostic lines for the deployment's events; never pass secrets. */
  log?: (message: string) => void;
  /**
   * Scratch space the resources of one provisioning run (one deployment) share, keyed by driver
   * id: a driver reads and writes its own entry only. Nothing in it is stored; absent when a
   * driver is called on its own. The `command` driver keeps Score's `shared_state` here.
   */
  shared?: Map<string, unknown>;
}

export interface ProvisionResult {
  outputs: Record<string, unknown>;
  /** Secret outputs: encrypted at rest, masked everywhere they are shown. */
  secrets: Record<string, string>;
  state: unknown;
}

export interface DeprovisionRequest {
  resource: ResourceRef;
  context: Omit<ProvisionContext, 'dependencies' | 'values' | 'network'>;
  inputs: { values: Record<string, unknown>; secrets: Record<string, string> };
  state: unknown;
  /**
   * Where drivers of stateful resources write a dump of the data before they delete it (`pg_dump`,
   * `mysqldump`). Absent: the driver's own default (see its documentation).
   */
  dumpDir?: string;
  log?: (message: string) => void;
}

/**
 * A request to change or revoke the credentials of a provisioned resource
 * (`paved resources rotate-credentials`): what its last provisioning returned.
 */
export interface CredentialsRequest {
  resource: ResourceRef;
  context: Omit<ProvisionContext, 'dependencies' | 'values' | 'network'>;
  inputs: { values: Record<string, unknown>; secrets: Record<string, string> };
  state: unknown;
  /** The secret outputs of the last provisioning (or rotation). */
  secrets: Record<string, string>;
  log?: (message: string) => void;
}

export interface ResourceDriver {
  readonly id: string;
  /** Schema of the driver inputs (values and secrets together, secrets by key). */
  readonly inputs: ZodType;
  /**
   * Inputs that must be given as secrets (an admin password): `paved apply` refuses a definition
   * giving one among its plain values, where it would be stored and shown in plain text.
   */
  readonly secretInputs?: readonly string[];
  /** Whether what it provisions holds data (never deprovisioned by a deploy, rollback or prune). */
  readonly stateful?: boolean;
  /**
   * `provision` touches nothing outside the process and its result depends only on the request
   * (values, names, the network): a plan (`deploy --plan`) calls it to show the outputs a deploy
   * would give, so a changed value shows in the plan instead of the last provisioning's.
   */
  readonly pure?: boolean;
  /** Idempotent: called again with `previousState`, it converges instead of creating twice. */
  provision(request: ProvisionRequest, signal: AbortSignal): Promise<ProvisionResult>;
  /**
   * The output names `provision` would return for this request, when the driver knows them without
   * provisioning. A plan (`deploy --plan`) uses them to refuse `${resources.db.hots}` before the
   * resource exists; without this method any output name of an unprovisioned resource is accepted.
   */
  outputNames?(request: Omit<ProvisionRequest, 'previousState' | 'log'>): OutputNames;
  /** Idempotent: deprovisioning what is already gone succeeds. */
  deprovision(request: DeprovisionRequest, signal: AbortSignal): Promise<void>;
  /**
   * Optional, for drivers that hand out credentials: sets up new credentials while the current
   * ones keep working, and returns the result to record (new secrets; the state remembers the
   * old credentials until `revokePreviousCredentials`). Workloads are redeployed with the new
   * secrets in between.
   */
  rotateCredentials?(request: CredentialsRequest, signal: AbortSignal): Promise<ProvisionResult>;
  /**
   * Optional, the second step of a rotation: disables the credentials a rotation replaced and ends
   * their sessions. Succeeds when there is nothing to revoke.
   */
  revokePreviousCredentials?(request: CredentialsRequest, signal: AbortSignal): Promise<ProvisionResult>;
}
