/**
 * The labels and names by which the docker target recognises what it owns. Everything it creates
 * (containers, networks, volumes, built images) carries `dev.paved.target=<target name>` plus the
 * app and environment; anything without them is foreign and never touched. Labels are the only
 * state the target keeps: after a restart, `init()` rebuilds everything from them.
 */
import type { EnvironmentRef, Probe } from '@paved/core';

export const LABEL = {
  target: 'dev.paved.target',
  app: 'dev.paved.app',
  env: 'dev.paved.env',
  workload: 'dev.paved.workload',
  container: 'dev.paved.container',
  deployment: 'dev.paved.deployment',
  specHash: 'dev.paved.spec-hash',
  /** Instance id: `<deployment>` or `<deployment>-<n>`; a replacement runs beside the old one. */
  instance: 'dev.paved.instance',
  /**
   * `sandbox` for the container that holds a multi-container workload's network namespace,
   * `service-address` for a workload's in-network address (`service-address.ts`).
   */
  role: 'dev.paved.role',
  /** On a service-address container: the workload it is the address of. */
  addressOf: 'dev.paved.address-of',
  /** On a service-address container: the ports it listens on (JSON), to tell when they change. */
  addressPorts: 'dev.paved.address-ports',
  /** JSON {@link InstanceLayout}: what the instance consists of and how it is reached. */
  layout: 'dev.paved.layout',
  /** The image reference the container was created from and its digest. */
  image: 'dev.paved.image',
  digest: 'dev.paved.image-digest',
  /** On named volumes: the volume resource's source name. */
  volume: 'dev.paved.volume',
} as const;

export interface InstanceLayout {
  /** Container names in start order. */
  containers: string[];
  /** Containers that others wait for to `complete`: exit 0 is their success, not a crash. */
  completes: string[];
  /** Whether a sandbox container holds the network namespace (more than one container). */
  sandbox: boolean;
  /** Service ports: name → Score port, container port, protocol and the stable host port. */
  ports: Record<string, { port: number; targetPort: number; protocol: 'TCP' | 'UDP'; hostPort?: number }>;
  /** Paved's own probes per container, which the target runs (the engine's health checks are not used). */
  probes: Record<string, { readiness?: Probe; liveness?: Probe }>;
  /**
   * Whether the workload is reached through a service-address container rather than by an alias
   * of the instance itself (`service-address.ts`); absent on instances made before it existed.
   */
  address?: boolean;
}

export function networkName(env: EnvironmentRef): string {
  return `paved-${env.app}-${env.env}`;
}

export function containerName(
  env: EnvironmentRef,
  workload: string,
  container: string,
  instance: string,
): string {
  return `paved-${env.app}-${env.env}-${workload}-${container}-${instance}`;
}

export function sandboxName(env: EnvironmentRef, workload: string, instance: string): string {
  return `paved-${env.app}-${env.env}-${workload}-${instance}`;
}

/** `paved/<app>-<env>-<workload>-<container>:<context hash prefix>` */
export function builtImageTag(
  env: EnvironmentRef,
  workload: string,
  container: string,
  hash: string,
): string {
  const prefix = hash.replace(/^sha256:/, '').slice(0, 16) || 'latest';
  return `paved/${env.app}-${env.env}-${workload}-${container}:${prefix.toLowerCase()}`;
}

/** Labels every object of an environment carries. */
export function environmentLabels(target: string, env: EnvironmentRef): Record<string, string> {
  return { [LABEL.target]: target, [LABEL.app]: env.app, [LABEL.env]: env.env };
}

/** A Docker API `label` filter matching every key/value given. */
export function labelFilter(labels: Record<string, string>): { label: string[] } {
  return { label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) };
}

/** Whether an object with these labels belongs to this target (and environment, when given). */
export function isOwned(
  labels: Record<string, string> | undefined | null,
  target: string,
  env?: EnvironmentRef,
): boolean {
  if (labels?.[LABEL.target] !== target) return false;
  return env === undefined || (labels[LABEL.app] === env.app && labels[LABEL.env] === env.env);
}

export function parseLayout(labels: Record<string, string>): InstanceLayout | undefined {
  const text = labels[LABEL.layout];
  if (text === undefined) return undefined;
  try {
    const layout = JSON.parse(text) as Partial<InstanceLayout>;
    if (!Array.isArray(layout.containers) || typeof layout.ports !== 'object' || layout.ports === null)
      return undefined;
    return {
      containers: layout.containers,
      completes: Array.isArray(layout.completes) ? layout.completes : [],
      sandbox: layout.sandbox === true,
      ports: layout.ports,
      probes: typeof layout.probes === 'object' && layout.probes !== null ? layout.probes : {},
      ...(layout.address === true ? { address: true } : {}),
    };
  } catch {
    return undefined;
  }
}
