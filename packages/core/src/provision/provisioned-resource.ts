/**
 * What the provision stage knows about each resource afterwards: the result of its driver, or in a
 * plan what it will probably be.
 */
import type { ResourceOutputs } from '../render/expand-template.js';

export interface ProvisionedResource extends ResourceOutputs {
  class: string;
  resId: string;
  definition: { name: string; version: number };
  driver: string;
  /** Params with their placeholders expanded, as the driver received them. */
  params: Record<string, unknown>;
  state: unknown;
  /** Never deprovisioned by a deploy, rollback or prune (the definition or the driver says so). */
  stateful: boolean;
  /**
   * `provisioned`: the driver ran now. `planned`: a plan, nothing ran; outputs are those of the last
   * provisioning when there was one (`reused`), else UNKNOWN_OUTPUT markers.
   */
  status: 'provisioned' | 'planned';
  reused?: boolean;
}

/** What the last successful provisioning of a resource left behind. */
export interface PreviousResource {
  state: unknown;
  outputs: Record<string, unknown>;
  secrets: Record<string, string>;
}
