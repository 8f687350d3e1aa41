/**
 * The request stage: turns the `resources` sections of validated workloads into the set of
 * resources the environment needs, deciding which requests are private to one workload and which
 * are shared, and keeping who asked for each and under which name.
 */
import { PavedError, type Problem } from '../errors.js';
import type { ScoreWorkload } from '../score/types.js';
import { stableStringify } from './stable-stringify.js';

/** The class a request has when its Score file names none. */
export const DEFAULT_CLASS = 'default';

/** One workload's name for a resource: `resources.<name>` in its Score file. */
export interface ResourceClaim {
  workload: string;
  name: string;
}

/** A resource the environment needs; one per uid, however many workloads ask for it. */
export interface ResourceRequestNode {
  /** `<type>.<class>#<id>`, stable across deployments: the key of the active resource. */
  uid: string;
  type: string;
  class: string;
  /** `<workload>.<name>` for a private resource, the Score `id` for a shared one. */
  id: string;
  /** True when the Score file gave an `id`, so other workloads may ask for the same resource. */
  shared: boolean;
  /** True when the platform added the resource rather than a workload asking for it. */
  implicit: boolean;
  params: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** Every workload that asked for the resource, in the order of the workloads given. */
  claims: ResourceClaim[];
}

/** A resource the platform adds whether or not a workload names it (e.g. one the target needs). */
export interface ImplicitResource {
  type: string;
  class?: string;
  id: string;
  params?: Record<string, unknown>;
}

export interface RequestOptions {
  implicit?: ImplicitResource[];
}

export interface ResourceRequests {
  /** In the order they were first asked for. */
  nodes: ResourceRequestNode[];
  byUid: ReadonlyMap<string, ResourceRequestNode>;
  /** workload name → resource name → uid. */
  byWorkload: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

export function resourceUid(type: string, resourceClass: string, id: string): string {
  return `${type}.${resourceClass}#${id}`;
}

/**
 * Collects the resources the workloads ask for. Private resources get the uid
 * `<type>.<class>#<workload>.<name>`; resources with an `id` are shared, uid `<type>.<class>#<id>`,
 * and every workload asking for one must give the same params. Reports every problem at once.
 *
 * @example
 * const requests = requestResources([orders, payments]);
 * requests.byWorkload.get('orders')?.get('db'); // 'postgres.default#orders.db'
 */
export function requestResources(workloads: ScoreWorkload[], options: RequestOptions = {}): ResourceRequests {
  const nodes: ResourceRequestNode[] = [];
  const byUid = new Map<string, ResourceRequestNode>();
  const byWorkload = new Map<string, Map<string, string>>();
  const problems: Problem[] = [];
  // Serialising params once per shared node keeps comparing N claims linear.
  const sharedParams = new Map<string, string>();

  for (const workload of workloads) {
    const workloadName = workload.metadata.name;
    if (byWorkload.has(workloadName)) {
      problems.push({
        path: `workloads.${workloadName}`,
        message: `workload "${workloadName}" is given twice: workload names must be unique within a deployment`,
      });
      continue;
    }
    const names = new Map<string, string>();
    byWorkload.set(workloadName, names);
    for (const [name, request] of Object.entries(workload.resources ?? {})) {
      const resourceClass = request.class ?? DEFAULT_CLASS;
      const shared = request.id !== undefined;
      const id = request.id ?? `${workloadName}.${name}`;
      const uid = resourceUid(request.type, resourceClass, id);
      const params = request.params ?? {};
      names.set(name, uid);
      const existing = byUid.get(uid);
      if (existing === undefined) {
        const node: ResourceRequestNode = {
          uid,
          type: request.type,
          class: resourceClass,
          id,
          shared,
          implicit: false,
          params,
          metadata: request.metadata ?? {},
          claims: [{ workload: workloadName, name }],
        };
        nodes.push(node);
        byUid.set(uid, node);
        sharedParams.set(uid, stableStringify(params));
        continue;
      }
      const first = existing.claims[0];
      if (
        first !== undefined &&
        (existing.shared !== shared || sharedParams.get(uid) !== stableStringify(params))
      ) {
        problems.push({
          path: `workloads.${workloadName}.resources.${name}`,
          message:
            existing.shared !== shared
              ? `resource "${uid}" of workload "${workloadName}" (resources.${name}) has the same id as the private ` +
                `resource "${first.name}" of workload "${first.workload}": choose another id`
              : `shared resource "${uid}" has conflicting params: workload "${first.workload}" (resources.${first.name}) ` +
                `asks for ${stableStringify(existing.params)}, workload "${workloadName}" (resources.${name}) for ` +
                `${stableStringify(params)}: give both the same params, or different ids to get two resources`,
        });
      }
      existing.claims.push({ workload: workloadName, name });
    }
  }

  for (const implicit of options.implicit ?? []) {
    const resourceClass = implicit.class ?? DEFAULT_CLASS;
    const uid = resourceUid(implicit.type, resourceClass, implicit.id);
    if (byUid.has(uid)) continue;
    const node: ResourceRequestNode = {
      uid,
      type: implicit.type,
      class: resourceClass,
      id: implicit.id,
      shared: true,
      implicit: true,
      params: implicit.params ?? {},
      metadata: {},
      claims: [],
    };
    nodes.push(node);
    byUid.set(uid, node);
  }

  if (problems.length > 0) {
    throw PavedError.invalid(
      `${problems.length} problem(s) in the resources of the deployment; first: ${problems[0]?.message ?? ''}`,
      problems,
    );
  }
  return { nodes, byUid, byWorkload };
}
