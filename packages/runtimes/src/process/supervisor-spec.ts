/**
 * What the runtime hands a supervisor (`spec.json`, mode 0600 in the data directory; secret
 * variables are named there, never valued), the secret values it hands over on the supervisor's
 * stdin at spawn (`SupervisorSecrets`, kept in the supervisor's memory only: ADR 0015), and what
 * the supervisor reports back (`state.json`, rewritten atomically on every change). Both sides
 * import these types; nothing else crosses between the processes.
 */
import type { ResolvedProbe } from '../probes/probe-check.js';
import type { ProcessIdentity } from './process-identity.js';

export type ReadyCondition = 'started' | 'healthy' | 'complete';

export interface SupervisorSpec {
  token: string;
  instance: string;
  workload: string;
  /** Where the supervisor writes `SupervisorState`. */
  stateFile: string;
  /** Directory of the `<container>.log` files. */
  logDir: string;
  uid?: number;
  gid?: number;
  graceMs: number;
  logLimitBytes: number;
  probeIntervalMs: number;
  /** Restart delay: `initialMs`, doubled per consecutive crash, at most `maxMs`. */
  backoff: { initialMs: number; maxMs: number };
  /** Ready only when this answers as well (the default check of a workload without probes). */
  workloadCheck?: ResolvedProbe;
  containers: SupervisedContainer[];
}

export interface SupervisedContainer {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  /** The environment without the secret variables (those are merged in at each start). */
  env: Record<string, string>;
  /**
   * Names of the variables whose values arrive on stdin only (`SupervisorSecrets`). Absent in
   * specs written before secrets left the disk, whose `env` still holds them.
   */
  secretEnv?: string[];
  /**
   * Positions in `[command, ...args]` of the arguments that hold a secret: empty in the spec, their
   * values arrive on stdin (`SupervisorSecrets.arguments`), and notes show them as `(secret)`.
   */
  secretArgs?: number[];
  /** The containers that must reach a condition before this one starts (Score `before`). */
  waitFor: Record<string, ReadyCondition>;
  /** Exit code 0 ends it for good (another container waits for it to `complete`). */
  runsToCompletion: boolean;
  readinessProbe?: ResolvedProbe;
  livenessProbe?: ResolvedProbe;
}

/**
 * One JSON line the runtime writes on the supervisor's stdin at spawn, then closes the pipe:
 * container name → secret variable name → value, and container name → position of a secret
 * argument in `[command, ...args]` → value.
 */
export interface SupervisorSecrets {
  containers: Record<string, Record<string, string>>;
  arguments?: Record<string, Record<string, string>>;
}

export type SupervisedState = 'waiting' | 'running' | 'exited' | 'completed' | 'failed';

export interface ContainerState {
  state: SupervisedState;
  process?: ProcessIdentity;
  startedAt?: string;
  /** Times the container was started again after an exit or a failed liveness probe. */
  restarts: number;
  exitCode?: number;
  signal?: string;
  ready: boolean;
  /** Ready at least once since it last started (the `healthy` condition and liveness use it). */
  wasReady: boolean;
  probeFailures: number;
  livenessRestarts: number;
  lastProbe?: { probe: string; ok: boolean; status: string; at: string };
  /** The last failed readiness or liveness check (`paved status` shows it). */
  lastProbeFailure?: { probe: string; status: string; at: string };
  message?: string;
}

export interface SupervisorState {
  token: string;
  supervisor: ProcessIdentity;
  phase: 'running' | 'stopping' | 'stopped';
  ready: boolean;
  updatedAt: string;
  lastWorkloadCheck?: { probe: string; ok: boolean; status: string; at: string };
  containers: Record<string, ContainerState>;
}
