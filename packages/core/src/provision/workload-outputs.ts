import type { ResourceGraph } from '../graph/resource-graph.js';
import type { ResourceOutputs } from '../render/expand-template.js';

/**
 * Regroups provisioned resources the way placeholders name them: workload → resource name (as
 * that workload calls it) → outputs. A shared resource appears under every workload asking for it.
 */
export function workloadOutputs(
  graph: ResourceGraph,
  resources: ReadonlyMap<string, ResourceOutputs>,
): Map<string, Map<string, ResourceOutputs>> {
  const byWorkload = new Map<string, Map<string, ResourceOutputs>>();
  for (const node of graph.resources) {
    const outputs = resources.get(node.id);
    if (outputs === undefined) continue;
    for (const claim of node.claims) {
      let names = byWorkload.get(claim.workload);
      if (names === undefined) byWorkload.set(claim.workload, (names = new Map<string, ResourceOutputs>()));
      names.set(claim.name, outputs);
    }
  }
  return byWorkload;
}
