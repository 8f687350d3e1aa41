export {
  ProcessRuntime,
  type ProcessRuntimeOptions,
  type ProcessSecretsRef,
  type ProcessSecretValues,
  type ProcessContainerSecrets,
} from './process/process-runtime.js';
export { secretArgvPositions } from './process/secret-arguments.js';
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
export { DockerRuntime, type DockerRuntimeOptions } from './docker/docker-runtime.js';
export { findDockerHost, usualDockerSockets } from './docker/docker-host.js';
export { dockerWorkloadProblems } from './docker/docker-workload-problems.js';
export type { RegistryCredentials } from './docker/image-resolver.js';
