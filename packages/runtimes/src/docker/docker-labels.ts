/**
 * The labels and names by which the docker target recognises what it owns. Everything it creates
 * (containers, networks, volumes, built images) carries `dev.paved.target=<target name>`, the
 * installation (`dev.paved.installation=<id of the server's store>`) and the app and environment;
 * anything without them is foreign and never touched. Labels are the only state the target keeps:
 * after a restart, `init()` rebuilds everything from them.
 */
import type { EnvironmentRef, Probe } from '@paved/core';

export const LABEL = {
  target: 'dev.paved.target',
  /**
   * The Paved installation (its store's id): two installations on one engine may both have a
   * target named `docker`. Objects made before the label existed have none and stay owned.
   */
  installation: 'dev.paved.installation',
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

/** Whose objects these are: the target's name and the installation it belongs to. */
export interface Owner {
  readonly target: string;
  /** Absent outside a server (tests, benches): such an owner has only unlabelled objects. */
  readonly installation?: string | undefined;
}

/** Labels every object of an environment carries. */
export function environmentLabels(owner: Owner, env: EnvironmentRef): Record<string, string> {
  return {
    [LABEL.target]: owner.target,
    ...(owner.installation === undefined ? {} : { [LABEL.installation]: owner.installation }),
    [LABEL.app]: env.app,
    [LABEL.env]: env.env,
  };
}

/** The labels that pick out one environment's objects in a listing. */
export function environmentSelector(env: EnvironmentRef): Record<string, string> {
  return { [LABEL.app]: env.app, [LABEL.env]: env.env };
}

/** A Docker API `label` filter matching every key/value given. */
export function labelFilter(labels: Record<string, string>): { label: string[] } {
  return { label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) };
}

/**
 * Whether an object with these labels belongs to this target of this installation (and to the
 * environment, when given). The engine's label filters cannot say "this installation or none", so
 * every listing by target label is checked with this.
 */
export function isOwned(
  labels: Record<string, string> | undefined | null,
  owner: Owner,
  env?: EnvironmentRef,
): boolean {
  if (labels?.[LABEL.target] !== owner.target) return false;
  const installation = labels[LABEL.installation];
  if (installation !== undefined && installation !== owner.installation) return false;
  return env === undefined || (labels[LABEL.app] === env.app && labels[LABEL.env] === env.env);
}

/** Describes the owner in messages: `docker target "docker" of installation 1b4e…`. */
export function describeOwner(owner: Owner): string {
  return owner.installation === undefined
    ? `docker target "${owner.target}"`
    : `docker target "${owner.target}" of installation ${owner.installation}`;
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
