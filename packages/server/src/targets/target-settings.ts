/**
 * The settings of each target type as stored (`StoredTarget.settings`, secrets apart) and the
 * paths their secrets are kept under (`StoredTarget.secrets`, `secretRefs`).
 */

/** The target every server has; it cannot be configured. */
export const PROCESS_TARGET = 'process';

/** The name of the Docker target found on the server's machine; applying a Target of this name replaces it. */
export const DOCKER_TARGET = 'docker';

/** `spec.docker` without its secrets. */
export interface DockerSettings {
  /** `unix:///path` or `tcp://host:port`; absent: auto-detected. */
  host?: string;
  /** Registry server (`ghcr.io`, `127.0.0.1:5001`) → the user name; the password is a secret. */
  registries?: Record<string, { username: string }>;
  /** An image with Node 20+ to build the service-address image on; absent: the server's own Node. */
  nodeImage?: string;
  /** The image of the sandbox container of multi-container workloads; absent: the first container's. */
  sandboxImage?: string;
}

/** `spec.kubernetes` without its secret kubeconfig. */
export interface KubernetesSettings {
  context?: string;
  namespacePrefix?: string;
}

/** Where a registry's password is kept among a docker target's secrets. */
export function registryPasswordPath(server: string): string {
  return `registries.${server}.password`;
}

/** Where a kubernetes target's kubeconfig is kept among its secrets. */
export const KUBECONFIG_PATH = 'kubeconfig';
