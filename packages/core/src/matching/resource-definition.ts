/**
 * How a resource type is provisioned: a driver, its inputs, and the criteria saying where this
 * definition applies. Platform teams apply definitions; Paved ships fallback ones for the
 * built-in types (`defaultDefinitions()` in @paved/drivers).
 */
import type { RuntimeKind } from '../runtime.js';

/**
 * Where a definition applies. Every key given must equal the request's; a criterion with no keys
 * applies everywhere. The more keys match, the more specific (see `specificityOf`).
 */
export interface Criteria {
  /** Environment type, e.g. `production`. */
  env_type?: string;
  /** Environment name. */
  env?: string;
  app?: string;
  /** The resource id: `<workload>.<name>` for a private resource, the Score `id` for a shared one. */
  res_id?: string;
  /** The resource class; without it (and without a `class` on the definition) only `default`. */
  class?: string;
}

export interface ResourceDefinition {
  /** Unique among definitions, e.g. `postgres-production`. */
  name: string;
  /** Increases with every change, so active resources record which version made them. */
  version: number;
  /** The resource type it provisions, e.g. `postgres`. */
  type: string;
  /** Shorthand for a `class` in every criterion that names none. */
  class?: string;
  /** The id of the driver that provisions it (a key of the driver registry). */
  driver: string;
  inputs: { values: Record<string, unknown>; secrets: Record<string, string> };
  /** Empty: applies everywhere (for the class). */
  criteria: Criteria[];
  /** Whether what it provisions holds data; the driver may say so too. */
  stateful?: boolean;
  /**
   * Shipped with Paved: used only when no definition applied by the platform team matches, so
   * applying one with the same criteria replaces it instead of tying with it.
   */
  fallback?: boolean;
  /**
   * Only for environments on targets of these kinds (a default Paved ships for one kind of target:
   * dedicated containers on docker targets); absent: on every target.
   */
  targetKinds?: RuntimeKind[];
}
