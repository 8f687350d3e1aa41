/**
 * Fault injection for crash-safety tests: kills the server process at a named stage of a
 * deployment, the way a power cut or an OOM kill would (SIGKILL: no handler, no cleanup).
 *
 * Off unless the process was started with `PAVED_TEST_FAULT_INJECTION=1`; then
 * `PAVED_TEST_FAULTS=stage[,stage]` names the stages that kill. Production never sets these
 * variables (nothing in Paved does; only tests spawning a server do), and with them unset every
 * fault point is a single environment lookup that returns.
 */
import { writeSync } from 'node:fs';

export const FAULT_STAGES = [
  /** A new resource was provisioned by its driver and is not recorded as such in the store yet. */
  'after-provision-one',
  /** Inside the render step. */
  'during-render',
  /** A new instance started and passed readiness, and the runtime switched to it. */
  'after-start-new-instance',
  /** The runtime stopped a previous instance; the deployment has not finished applying. */
  'mid-switch',
  /** Everything applied, nothing of the record step written yet. */
  'before-record',
  /** Inside the record step's transaction: the routes are written, the deployment not yet current. */
  'mid-record',
  /** Inside a rollback's transaction: the values are restored, its deployment not queued yet. */
  'mid-rollback',
] as const;

export type FaultStage = (typeof FAULT_STAGES)[number];

/** Kills this process with SIGKILL when fault injection is on and `stage` is one of the faults. */
export function faultPoint(stage: FaultStage, env: NodeJS.ProcessEnv = process.env): void {
  if (!activeFaults(env).has(stage)) return;
  // Said on stderr before dying, so a test can tell the injected death from a crash.
  writeSync(2, `paved: fault injection: killing the server at stage "${stage}"\n`);
  process.kill(process.pid, 'SIGKILL');
}

/** The stages that kill; empty unless PAVED_TEST_FAULT_INJECTION=1. */
export function activeFaults(env: NodeJS.ProcessEnv): ReadonlySet<string> {
  if (env.PAVED_TEST_FAULT_INJECTION !== '1') return new Set();
  return new Set(
    (env.PAVED_TEST_FAULTS ?? '')
      .split(',')
      .map((stage) => stage.trim())
      .filter((stage) => stage !== ''),
  );
}

/**
 * Wraps a runtime's event sink so that the stages only the runtime can see (an instance ready and
 * switched to, a previous instance stopped) are fault points too.
 */
export function faultingSink<E extends { type: string }>(sink: (event: E) => void): (event: E) => void {
  return (event) => {
    sink(event);
    if (event.type === 'workload.ready') faultPoint('after-start-new-instance');
    if (event.type === 'workload.stopped') faultPoint('mid-switch');
  };
}
