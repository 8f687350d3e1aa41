/**
 * The plan stage: what a deployment would change — per workload create / update / unchanged /
 * delete with a field-level diff, and per resource create / update / unchanged / delete / detach.
 * `deploy --plan` stops here and prints it.
 */
import { stableStringify } from '../request/stable-stringify.js';
import type { PlanAction, RenderedWorkload } from '../runtime.js';
import { diffWorkload, type FieldChange } from './diff-workload.js';

/** A workload the target runs now; with its last spec the plan can say which fields change. */
export interface CurrentWorkload {
  name: string;
  specHash: string;
  spec?: RenderedWorkload;
}

export interface WorkloadPlan {
  name: string;
  action: PlanAction;
  /** Why, in a few words. */
  reason: string;
  /**
   * Field-level changes: of an update, what differs; of a create, every field of the new spec
   * (as added). Secret values masked, outputs of resources not provisioned yet shown as
   * `(known after provisioning)`.
   */
  changes: FieldChange[];
}

/** A resource as the plan compares it: what made it and with which params. */
export interface PlannedResourceState {
  uid: string;
  type: string;
  definition: { name: string; version: number };
  params: Record<string, unknown>;
  stateful: boolean;
}

/** `detach`: no longer needed but stateful, so kept with its data until deleted explicitly. */
export type ResourcePlanAction = 'create' | 'update' | 'unchanged' | 'delete' | 'detach';

export interface ResourcePlan {
  uid: string;
  type: string;
  action: ResourcePlanAction;
  reason: string;
}

export interface PlanOptions {
  /** Delete running workloads the deployment does not name (`deploy --prune`). */
  prune?: boolean;
  /**
   * Workloads of `desired` that the request did not give: carried over from the current
   * deployment (a partial deploy without `--prune`). Their plan says they are kept.
   */
  kept?: readonly string[];
  /** The resources the deployment needs, and those the environment has now. */
  resources?: { desired: readonly PlannedResourceState[]; current: readonly PlannedResourceState[] };
}

export interface DeploymentPlan {
  workloads: WorkloadPlan[];
  resources: ResourcePlan[];
  /** Nothing to create, update, delete or detach. */
  isEmpty: boolean;
  /** e.g. `workloads: 1 to create, 2 unchanged; resources: 1 to create`. */
  summary: string;
}

/** A workload with nothing in it: a new workload's changes are its whole spec, added. */
const NOTHING: RenderedWorkload = { name: '', deployment: 0, specHash: '', containers: {}, ports: {} };

/**
 * Compares the desired workloads with what runs now. Without `prune`, running workloads the
 * deployment does not name are kept (listed as unchanged).
 *
 * @example
 * const plan = planDeployment(rendered, await store.currentWorkloads(env), { prune: false });
 * if (plan.isEmpty) console.log(plan.summary); // "no changes"
 */
export function planDeployment(
  desired: readonly RenderedWorkload[],
  current: readonly CurrentWorkload[],
  options: PlanOptions = {},
): DeploymentPlan {
  const running = new Map(current.map((workload) => [workload.name, workload]));
  const wanted = new Set(desired.map((workload) => workload.name));
  const kept = new Set(options.kept ?? []);
  const workloads: WorkloadPlan[] = [];
  for (const workload of desired) {
    const now = running.get(workload.name);
    if (now === undefined) {
      workloads.push({
        name: workload.name,
        action: 'create',
        reason: 'not running',
        changes: diffWorkload(NOTHING, workload),
      });
    } else if (now.specHash === workload.specHash) {
      workloads.push({
        name: workload.name,
        action: 'unchanged',
        reason: kept.has(workload.name) ? 'not given, kept as it runs; --prune removes it' : 'spec unchanged',
        changes: [],
      });
    } else {
      workloads.push({
        name: workload.name,
        action: 'update',
        // A kept workload changes too when what it uses does (a value, a resource's output).
        reason: kept.has(workload.name) ? 'not given, but what it uses changed' : 'spec changed',
        changes: now.spec === undefined ? [] : diffWorkload(now.spec, workload),
      });
    }
  }
  for (const workload of current) {
    if (wanted.has(workload.name)) continue;
    workloads.push(
      options.prune === true
        ? { name: workload.name, action: 'delete', reason: 'not in the deployment', changes: [] }
        : {
            name: workload.name,
            action: 'unchanged',
            reason: 'not in the deployment, kept (--prune removes it)',
            changes: [],
          },
    );
  }
  const resources = planResources(options.resources?.desired ?? [], options.resources?.current ?? []);
  const isEmpty =
    workloads.every((workload) => workload.action === 'unchanged') &&
    resources.every((resource) => resource.action === 'unchanged');
  return { workloads, resources, isEmpty, summary: summarise(workloads, resources) };
}

function planResources(
  desired: readonly PlannedResourceState[],
  current: readonly PlannedResourceState[],
): ResourcePlan[] {
  const existing = new Map(current.map((resource) => [resource.uid, resource]));
  const wanted = new Set(desired.map((resource) => resource.uid));
  const plans: ResourcePlan[] = [];
  for (const resource of desired) {
    const now = existing.get(resource.uid);
    const base = { uid: resource.uid, type: resource.type };
    if (now === undefined) {
      plans.push({ ...base, action: 'create', reason: `new, with definition "${resource.definition.name}"` });
    } else if (
      now.definition.name !== resource.definition.name ||
      now.definition.version !== resource.definition.version
    ) {
      plans.push({
        ...base,
        action: 'update',
        reason: `definition "${now.definition.name}" v${now.definition.version} → "${resource.definition.name}" v${resource.definition.version}`,
      });
    } else if (stableStringify(now.params) !== stableStringify(resource.params)) {
      plans.push({ ...base, action: 'update', reason: 'params changed' });
    } else {
      plans.push({ ...base, action: 'unchanged', reason: 'same definition and params' });
    }
  }
  for (const resource of current) {
    if (wanted.has(resource.uid)) continue;
    plans.push(
      resource.stateful
        ? {
            uid: resource.uid,
            type: resource.type,
            action: 'detach',
            reason: 'no longer used; stateful, so kept with its data until `paved resources delete`',
          }
        : { uid: resource.uid, type: resource.type, action: 'delete', reason: 'no longer used' },
    );
  }
  return plans;
}

function count<T extends { action: string }>(
  items: readonly T[],
  labels: Record<T['action'], string>,
): string[] {
  return (Object.entries(labels) as [T['action'], string][]).flatMap(([action, label]) => {
    const n = items.filter((item) => item.action === action).length;
    return n === 0 ? [] : [`${n} ${label}`];
  });
}

function summarise(workloads: readonly WorkloadPlan[], resources: readonly ResourcePlan[]): string {
  const parts: string[] = [];
  const w = count(workloads, {
    create: 'to create',
    update: 'to update',
    delete: 'to delete',
    unchanged: 'unchanged',
  });
  if (w.length > 0) parts.push(`workloads: ${w.join(', ')}`);
  const r = count(resources, {
    create: 'to create',
    update: 'to update',
    delete: 'to delete',
    detach: 'to detach',
    unchanged: 'unchanged',
  });
  if (r.length > 0) parts.push(`resources: ${r.join(', ')}`);
  const changes = [...workloads, ...resources].some((item) => item.action !== 'unchanged');
  return changes ? parts.join('; ') : `no changes${parts.length === 0 ? '' : ` (${parts.join('; ')})`}`;
}
