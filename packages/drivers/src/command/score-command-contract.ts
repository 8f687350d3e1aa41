/**
 * The stdin/stdout contract of Score's `cmd://` provisioners, as score-compose runs them: one JSON
 * object in (the resource, the workloads' network, the resource's and the shared state), one JSON
 * object out (outputs, the new resource state, a patch of the shared state). Output keys other than
 * the ones score-compose knows are refused, as score-compose refuses them.
 */
import type { NetworkEndpoint, ProvisionContext, ResourceRef } from '@paved/core';
import { z } from 'zod';

export interface ScoreServicePort {
  name: string;
  /** The port to connect to. */
  port: number;
  /** The port the workload's container listens on (the Score file's `targetPort`, else `port`). */
  target_port: number;
  protocol: 'TCP';
}

export interface ScoreWorkloadService {
  /** The host name to reach the workload by; score-compose spells this key `ServiceName`. */
  ServiceName: string;
  /** The same, for scripts that expect snake case. */
  service_name: string;
  /** Port name → port; each port is also listed under its number, as score-compose does. */
  ports: Record<string, ScoreServicePort>;
}

/** What the command reads on stdin. */
export interface ScoreCommandInput {
  resource_uid: string;
  resource_type: string;
  resource_class: string;
  resource_id: string;
  resource_params: Record<string, unknown>;
  resource_metadata: Record<string, unknown>;
  /** The workload that asked for the resource; empty for a shared one. */
  source_workload: string;
  workload_services: Record<string, ScoreWorkloadService>;
  resource_state: Record<string, unknown>;
  shared_state: Record<string, unknown>;
  /** `<app>-<env>`, the name score-compose gives its compose project. */
  compose_project_name: string;
  /** A scratch directory for this run, removed afterwards (Paved mounts nothing from it). */
  mount_directory_path: string;
}

const object = z.record(z.string(), z.unknown());

/** What the command prints on stdout. */
export const scoreCommandOutputSchema = z.strictObject({
  resource_outputs: object.nullish(),
  resource_state: object.nullish(),
  shared_state: object.nullish(),
  // score-compose applies these to its compose project and mounts directory; Paved has neither.
  relative_directories: z.record(z.string(), z.boolean()).nullish(),
  relative_file_contents: z.record(z.string(), z.string().nullable()).nullish(),
  compose_networks: object.nullish(),
  compose_volumes: object.nullish(),
  compose_services: object.nullish(),
});

export type ScoreCommandOutput = z.output<typeof scoreCommandOutputSchema>;

/** The output keys score-compose applies to its compose project, which no Paved target reads. */
export const COMPOSE_ONLY_OUTPUTS = [
  'relative_directories',
  'relative_file_contents',
  'compose_networks',
  'compose_volumes',
  'compose_services',
] as const;

function servicesOf(network: Record<string, NetworkEndpoint>): Record<string, ScoreWorkloadService> {
  return Object.fromEntries(
    Object.entries(network).map(([workload, endpoint]) => {
      const ports: Record<string, ScoreServicePort> = {};
      for (const [name, port] of Object.entries(endpoint.ports)) {
        ports[name] = { name, port, target_port: endpoint.declaredPorts?.[name] ?? port, protocol: 'TCP' };
      }
      for (const [name, port] of Object.entries(endpoint.declaredPorts ?? {})) {
        const entry = ports[name];
        if (entry !== undefined && !Object.hasOwn(ports, String(port))) ports[String(port)] = entry;
      }
      return [workload, { ServiceName: endpoint.hostname, service_name: endpoint.hostname, ports }];
    }),
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Builds stdin for a resource. */
export function scoreCommandInput(
  resource: ResourceRef,
  context: Pick<ProvisionContext, 'app' | 'env' | 'workload'> & { network?: Record<string, NetworkEndpoint> },
  state: { resourceState: Record<string, unknown>; sharedState: Record<string, unknown> },
  scratch: string,
): ScoreCommandInput {
  return {
    resource_uid: resource.uid,
    resource_type: resource.type,
    resource_class: resource.class,
    resource_id: resource.id,
    resource_params: resource.params,
    resource_metadata: resource.metadata,
    source_workload: context.workload ?? '',
    workload_services: servicesOf(context.network ?? {}),
    resource_state: state.resourceState,
    shared_state: state.sharedState,
    compose_project_name: `${context.app}-${context.env}`,
    mount_directory_path: scratch,
  };
}

/**
 * Applies a JSON Merge Patch (RFC 7386), as score-compose applies `shared_state`: `null` removes a
 * key, objects merge key by key, anything else replaces. Returns a new object.
 */
export function mergePatch(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const result: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else if (isObject(value)) result[key] = mergePatch(isObject(result[key]) ? result[key] : {}, value);
    else result[key] = value;
  }
  return result;
}
