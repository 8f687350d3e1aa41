import {
  graphWithProgress,
  workloadNodeId,
  type ApplyOutcome,
  type Clock,
  type GraphNodeProgress,
  type ResourceGraph,
  type ResourceGraphJson,
} from '@paved/core';

/**
 * Keeps a deployment's graph with the status and timings of every node while the deployment
 * runs, and saves it to the store as it changes, so the graph route shows provisioning as it
 * happens and what failed afterwards. Saves are queued one after another and coalesced: each
 * writes the latest state. Never throws: a failed save is reported to `onSaveError`.
 */
export class GraphRecorder {
  readonly #save: (graph: ResourceGraphJson) => Promise<void>;
  readonly #clock: Clock;
  readonly #onSaveError: (error: unknown) => void;
  readonly #progress = new Map<string, GraphNodeProgress>();
  #graph: ResourceGraph | undefined;
  #chain: Promise<void> = Promise.resolve();
  #queued = false;

  constructor(options: {
    save: (graph: ResourceGraphJson) => Promise<void>;
    clock: Clock;
    onSaveError: (error: unknown) => void;
  }) {
    this.#save = options.save;
    this.#clock = options.clock;
    this.#onSaveError = options.onSaveError;
  }

  /** The graph is built: every node pending. */
  start(graph: ResourceGraph): void {
    this.#graph = graph;
    this.#schedule();
  }

  /** A resource's progress, as `provisionGraph` reports it. */
  resource(uid: string, progress: GraphNodeProgress): void {
    this.#progress.set(uid, progress);
    this.#schedule();
  }

  /** The target starts applying the workloads. */
  applying(): void {
    const startedAt = this.#clock.now().toISOString();
    for (const node of this.#graph?.nodes ?? []) {
      if (node.kind === 'workload') this.#progress.set(node.id, { status: 'provisioning', startedAt });
    }
    this.#schedule();
  }

  /** What the target did with each workload: provisioned when it runs, failed with why. */
  applied(outcomes: readonly ApplyOutcome[]): void {
    const now = this.#clock.now();
    for (const outcome of outcomes) {
      const id = workloadNodeId(outcome.workload);
      const before = this.#progress.get(id);
      if (before === undefined) continue;
      this.#progress.set(id, {
        ...finished(before, now),
        status: outcome.ok ? 'provisioned' : 'failed',
        ...(outcome.ok ? {} : { error: outcome.error ?? 'the target reported a failure without a reason' }),
      });
    }
    this.#schedule();
  }

  /**
   * The deployment ended. On success every node is provisioned; otherwise nodes still running
   * failed with `error`, and nodes that never started are skipped. Returns the final graph, or
   * undefined when the deployment stopped before the graph was built.
   */
  finish(error?: string): ResourceGraphJson | undefined {
    const graph = this.#graph;
    if (graph === undefined) return undefined;
    const now = this.#clock.now();
    for (const node of graph.nodes) {
      const progress = this.#progress.get(node.id) ?? { status: 'pending' };
      if (progress.status === 'provisioning') {
        this.#progress.set(
          node.id,
          error === undefined
            ? { ...finished(progress, now), status: 'provisioned' }
            : { ...finished(progress, now), status: 'failed', error },
        );
      } else if (progress.status === 'pending') {
        this.#progress.set(node.id, { status: error === undefined ? 'provisioned' : 'skipped' });
      }
    }
    return graphWithProgress(graph, this.#progress);
  }

  /** Waits for every queued save. */
  async flush(): Promise<void> {
    await this.#chain;
  }

  #schedule(): void {
    if (this.#queued || this.#graph === undefined) return;
    this.#queued = true;
    const graph = this.#graph;
    this.#chain = this.#chain.then(async () => {
      this.#queued = false;
      try {
        await this.#save(graphWithProgress(graph, this.#progress));
      } catch (error) {
        this.#onSaveError(error);
      }
    });
  }
}

function finished(progress: GraphNodeProgress, now: Date): GraphNodeProgress {
  if (progress.startedAt === undefined) return { ...progress, finishedAt: now.toISOString() };
  return {
    ...progress,
    finishedAt: now.toISOString(),
    durationMs: now.getTime() - new Date(progress.startedAt).getTime(),
  };
}
