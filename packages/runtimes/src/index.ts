export { ProcessRuntime, type ProcessRuntimeOptions } from './process/process-runtime.js';
export { processWorkloadProblems } from './process/process-workload-problems.js';
export {
  checkHttp,
  checkProbe,
  checkTcp,
  describeProbe,
  DEFAULT_PROBE_TIMEOUT_MS,
  type ProbeResult,
  type ResolvedProbe,
} from './probes/probe-check.js';
