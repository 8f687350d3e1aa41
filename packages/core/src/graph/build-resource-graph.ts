/**
 * The graph stage: finds every dependency a placeholder makes — between resources through their
 * params, and from resources to the workloads that read their outputs — and builds the graph.
 */
import { PavedError, type Problem } from '../errors.js';
import type { ResourceDefinition } from '../matching/resource-definition.js';
import { parseTemplate } from '../placeholders/placeholders.js';
import type { ResourceRequests } from '../request/resource-requests.js';
import type { ScoreWorkload } from '../score/types.js';
import { paramStrings, workloadSites } from './placeholder-sites.js';
import {
  ResourceGraph,
  workloadNodeId,
  type GraphEdge,
  type GraphNode,
  type ResourceGraphNode,
} from './resource-graph.js';

export interface BuildGraphOptions {
  /** uid → the matched definition, recorded on the nodes for storage and drawing. */
  definitions?: ReadonlyMap<string, ResourceDefinition>;
}

/**
 * Builds the resource graph. Reports every unknown resource name and malformed placeholder at
 * once (INVALID_INPUT naming the workload, the variable or param, and the placeholder); a cycle
 * between resources is refused naming its members.
 *
 * @example
 * const graph = buildResourceGraph(requestResources(workloads), workloads);
 * for (const layer of graph.layers()) await Promise.all(layer.map(provision));
 */
export function buildResourceGraph(
  requests: ResourceRequests,
  workloads: readonly ScoreWorkload[],
  options: BuildGraphOptions = {},
): ResourceGraph {
  const problems: Problem[] = [];
  const nodes: GraphNode[] = [];
  const edges = new Map<string, GraphEdge>();

  const addEdge = (from: string, to: string, placeholder: string): void => {
    const key = `${from}\n${to}`;
    const edge = edges.get(key);
    if (edge === undefined) edges.set(key, { from, to, placeholders: [placeholder] });
    else if (!edge.placeholders.includes(placeholder)) edge.placeholders.push(placeholder);
  };

  /** Resource names referenced by `value`'s placeholders, checked against `names`. */
  const scan = (
    value: string,
    names: ReadonlyMap<string, string> | undefined,
    describe: () => { where: string; path: string; owner: string },
    onReference: (name: string, uid: string, raw: string) => void,
  ): void => {
    // Most strings hold no placeholder; skip the parser for them.
    if (!value.includes('${')) return;
    const parsed = parseTemplate(value);
    for (const problem of parsed.problems) {
      const { where, path } = describe();
      problems.push({ path, message: `${where}: ${problem.message}` });
    }
    for (const part of parsed.parts) {
      if (part.kind !== 'ref' || part.path[0] !== 'resources') continue;
      const name = part.path[1];
      const { where, path, owner } = describe();
      if (name === undefined || name === '') {
        problems.push({
          path,
          message: `${where}: ${part.raw}: name a resource, e.g. \${resources.db.host}`,
        });
        continue;
      }
      const uid = names?.get(name);
      if (uid === undefined) {
        const known = [...(names?.keys() ?? [])];
        problems.push({
          path,
          message:
            `${where}: ${part.raw}: ${owner} has no resource "${name}"; ` +
            (known.length === 0 ? 'it declares no resources' : `its resources are ${known.join(', ')}`),
        });
        continue;
      }
      onReference(name, uid, part.raw);
    }
  };

  for (const request of requests.nodes) {
    const definition = options.definitions?.get(request.uid);
    const node: ResourceGraphNode = {
      id: request.uid,
      kind: 'resource',
      type: request.type,
      class: request.class,
      resId: request.id,
      shared: request.shared,
      claims: request.claims.map((claim) => ({ ...claim })),
      params: request.params,
      metadata: request.metadata,
      references: {},
      ...(definition === undefined
        ? {}
        : { definition: { name: definition.name, version: definition.version }, driver: definition.driver }),
    };
    nodes.push(node);
    const strings = paramStrings(request.params);
    if (strings.length === 0) continue;
    // A shared resource's params are written in several workloads; each must mean the same resources.
    const claims = request.claims.length === 0 ? [undefined] : request.claims;
    claims.forEach((claim, index) => {
      const names = claim === undefined ? undefined : requests.byWorkload.get(claim.workload);
      for (const { path, value } of strings) {
        scan(
          value,
          names,
          () => ({
            where:
              claim === undefined
                ? `resource "${request.uid}" ${path}`
                : `workload "${claim.workload}" resource ${claim.name} ${path}`,
            path:
              claim === undefined
                ? `resources.${request.uid}.${path}`
                : `workloads.${claim.workload}.resources.${claim.name}.${path}`,
            owner: claim === undefined ? 'a resource added by the platform' : `workload "${claim.workload}"`,
          }),
          (name, uid, raw) => {
            const earlier = node.references[name];
            if (index === 0) {
              node.references[name] = uid;
              addEdge(uid, node.id, raw);
            } else if (earlier !== uid && claim !== undefined) {
              problems.push({
                path: `workloads.${claim.workload}.resources.${claim.name}.${path}`,
                message:
                  `shared resource "${request.uid}" has conflicting params: ${raw} means "${earlier ?? '(nothing)'}" in workload ` +
                  `"${request.claims[0]?.workload ?? ''}" but "${uid}" in workload "${claim.workload}": share the resource it names too, or use different ids`,
              });
            }
          },
        );
      }
    });
  }

  for (const workload of workloads) {
    const workloadName = workload.metadata.name;
    const id = workloadNodeId(workloadName);
    nodes.push({ id, kind: 'workload', workload: workloadName });
    const names = requests.byWorkload.get(workloadName);
    for (const site of workloadSites(workload)) {
      scan(
        site.value,
        names,
        () => ({
          where: `workload "${workloadName}" ${site.where}`,
          path: `workloads.${workloadName}.${site.path}`,
          owner: `workload "${workloadName}"`,
        }),
        (_name, uid, raw) => addEdge(uid, id, raw),
      );
    }
  }

  if (problems.length > 0) {
    throw PavedError.invalid(
      problems.length === 1
        ? (problems[0]?.message ?? '')
        : `${problems.length} placeholder problems; first: ${problems[0]?.message ?? ''}`,
      problems,
    );
  }
  return new ResourceGraph(nodes, [...edges.values()]);
}
