/**
 * The resource graph of one deployment: resources and workloads as nodes, an edge wherever a
 * placeholder makes one need the outputs of another. It orders provisioning and is stored with
 * the deployment for drawing.
 */
import { PavedError } from '../errors.js';

export interface ResourceGraphNode {
  /** The resource uid, `<type>.<class>#<id>`. */
  id: string;
  kind: 'resource';
  type: string;
  class: string;
  /** The resource id: `<workload>.<name>` when private, the Score `id` when shared. */
  resId: string;
  shared: boolean;
  /** Who asked for it and under which name. */
  claims: { workload: string; name: string }[];
  /** As written in the Score files, placeholders unexpanded. */
  params: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** Resource names used in its params' placeholders → the uid each names. */
  references: Record<string, string>;
  /** The matched definition and its driver, once matched. */
  definition?: { name: string; version: number };
  driver?: string;
}

export interface WorkloadGraphNode {
  /** `workload:<name>`, which no resource uid can be (uids contain `#`). */
  id: string;
  kind: 'workload';
  workload: string;
}

export type GraphNode = ResourceGraphNode | WorkloadGraphNode;

/** `from` is needed by `to`: it is provisioned first and its outputs flow into `to`. */
export interface GraphEdge {
  from: string;
  to: string;
  /** The placeholders that make the dependency, as written. */
  placeholders: string[];
}

/**
 * Where a node of a deployment's graph stands. Resources: `provisioning` while their driver runs,
 * `skipped` when the deployment stopped (a failure elsewhere, a cancel) before they started.
 * Workloads: `provisioning` while the target applies them, `provisioned` once they run.
 */
export type GraphNodeStatus = 'pending' | 'provisioning' | 'provisioned' | 'failed' | 'skipped';

/** The status of one node and when it changed; recorded as the deployment runs. */
export interface GraphNodeProgress {
  status: GraphNodeStatus;
  /** ISO-8601: when it started provisioning. */
  startedAt?: string;
  /** ISO-8601: when it was provisioned or failed. */
  finishedAt?: string;
  durationMs?: number;
  /** Why it failed. */
  error?: string;
}

/** The stored and drawn form; a deployment's stored graph carries each node's progress. */
export interface ResourceGraphJson {
  nodes: (GraphNode & Partial<GraphNodeProgress>)[];
  edges: GraphEdge[];
}

/**
 * The graph as stored with a deployment: every node with its progress, `pending` for nodes
 * `progress` does not name.
 *
 * @example
 * const json = graphWithProgress(graph, new Map([['dns.default#web.dns', { status: 'provisioned' }]]));
 */
export function graphWithProgress(
  graph: ResourceGraph,
  progress: ReadonlyMap<string, GraphNodeProgress>,
): ResourceGraphJson {
  return {
    nodes: graph.nodes.map((node) => ({ ...node, ...(progress.get(node.id) ?? { status: 'pending' }) })),
    edges: [...graph.edges],
  };
}

export function workloadNodeId(workload: string): string {
  return `workload:${workload}`;
}

export class ResourceGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  readonly #byId = new Map<string, GraphNode>();
  readonly #incoming = new Map<string, string[]>();
  readonly #outgoing = new Map<string, string[]>();
  readonly #layers: ResourceGraphNode[][];

  /** Throws INVALID_INPUT naming the members of a cycle, or an edge to an unknown node. */
  constructor(nodes: readonly GraphNode[], edges: readonly GraphEdge[]) {
    this.nodes = nodes;
    this.edges = edges;
    for (const node of nodes) {
      this.#byId.set(node.id, node);
      this.#incoming.set(node.id, []);
      this.#outgoing.set(node.id, []);
    }
    for (const edge of edges) {
      const incoming = this.#incoming.get(edge.to);
      const outgoing = this.#outgoing.get(edge.from);
      if (incoming === undefined || outgoing === undefined) {
        throw new PavedError(
          'INVALID_INPUT',
          `resource graph edge "${edge.from}" → "${edge.to}" names a node the graph does not have`,
          { details: { edge } },
        );
      }
      incoming.push(edge.from);
      outgoing.push(edge.to);
    }
    this.#layers = this.#computeLayers();
  }

  static fromJSON(json: ResourceGraphJson): ResourceGraph {
    return new ResourceGraph(json.nodes, json.edges);
  }

  toJSON(): ResourceGraphJson {
    return { nodes: [...this.nodes], edges: [...this.edges] };
  }

  node(id: string): GraphNode | undefined {
    return this.#byId.get(id);
  }

  resource(uid: string): ResourceGraphNode | undefined {
    const node = this.#byId.get(uid);
    return node?.kind === 'resource' ? node : undefined;
  }

  get resources(): ResourceGraphNode[] {
    return this.nodes.filter((node): node is ResourceGraphNode => node.kind === 'resource');
  }

  /** Ids of the nodes `id` needs. */
  dependenciesOf(id: string): readonly string[] {
    return this.#incoming.get(id) ?? [];
  }

  /** Ids of the nodes that need `id`. */
  dependentsOf(id: string): readonly string[] {
    return this.#outgoing.get(id) ?? [];
  }

  /**
   * Resources in topological layers: every resource comes after all it depends on, and the
   * resources of one layer are independent of each other, so they may be provisioned in parallel.
   */
  layers(): ResourceGraphNode[][] {
    return this.#layers;
  }

  #computeLayers(): ResourceGraphNode[][] {
    // Kahn's algorithm over all nodes; workloads only ever receive edges, so dropping them from the
    // layers afterwards keeps the resource order intact.
    const remaining = new Map<string, number>();
    for (const node of this.nodes) remaining.set(node.id, this.dependenciesOf(node.id).length);
    let current = this.nodes.filter((node) => remaining.get(node.id) === 0);
    const layers: ResourceGraphNode[][] = [];
    let placed = 0;
    while (current.length > 0) {
      placed += current.length;
      const resources = current.filter((node): node is ResourceGraphNode => node.kind === 'resource');
      if (resources.length > 0) layers.push(resources);
      const next: GraphNode[] = [];
      for (const node of current) {
        for (const dependent of this.dependentsOf(node.id)) {
          const left = (remaining.get(dependent) ?? 0) - 1;
          remaining.set(dependent, left);
          const dependentNode = this.#byId.get(dependent);
          if (left === 0 && dependentNode !== undefined) next.push(dependentNode);
        }
      }
      current = next;
    }
    if (placed < this.nodes.length) {
      const cycle = this.#findCycle(new Set([...remaining].filter(([, left]) => left > 0).map(([id]) => id)));
      throw new PavedError(
        'INVALID_INPUT',
        `resources depend on each other in a cycle: ${cycle.map((id) => `"${id}"`).join(' → ')} ` +
          `(each needs an output of the next through a placeholder in its params): remove one of these placeholders`,
        { details: { cycle } },
      );
    }
    return layers;
  }

  /** A cycle among `stuck` nodes, in dependency order, its first member repeated at the end. */
  #findCycle(stuck: Set<string>): string[] {
    // Every stuck node has a stuck dependency, so walking dependencies must revisit a node.
    const start = [...stuck].sort()[0] ?? '';
    const seen = new Map<string, number>();
    const path: string[] = [];
    let id = start;
    while (!seen.has(id)) {
      seen.set(id, path.length);
      path.push(id);
      id = this.dependenciesOf(id).find((dependency) => stuck.has(dependency)) ?? start;
    }
    // In walking order each member needs the next, which is how the message reads.
    const loop = path.slice(seen.get(id));
    return [...loop, loop[0] ?? id];
  }
}
