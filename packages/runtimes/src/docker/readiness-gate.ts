/**
 * The readiness gate of a new instance: it starts the containers the creation left to it in
 * `before` order and waits until Paved's probes find every one ready (or completed). Only then
 * does the runtime switch the workload's ports to the instance.
 */
import type { ApplyOutcome, EventSink, RenderedWorkload } from '@paved/core';
import { readContainerLogs } from './container-logs.js';
import type { Instance } from './docker-instance.js';
import { engineMessage } from './engine-errors.js';
import { sleep, type Engine } from './engine.js';
import type { ExitCodes } from './exit-codes.js';
import type { InstanceWatch, WatchSnapshot } from './instance-watch.js';
import { mergeByTime } from './log-demux.js';

const EVIDENCE_LOG_LINES = 20;
/** A new instance whose container crashed this often before being ready fails the gate early. */
const GATE_CRASH_LIMIT = 3;
/** How long a crash's exit code may trail its restart count on the engine's event stream. */
const EXIT_EVENT_WAIT_MS = 2000;

export type GateResult =
  { ok: true } | { ok: false; error: string; evidence: NonNullable<ApplyOutcome['evidence']> };

export interface Gate {
  instance: Instance;
  watch: InstanceWatch;
  desired: RenderedWorkload;
  /** Containers the creation already started (the namespace owner). */
  started: string[];
  events: EventSink;
  signal: AbortSignal;
  exits: ExitCodes;
  readinessTimeoutMs: number;
  probeIntervalMs: number;
}

/**
 * Starts the containers in `before` order and waits until every one is ready (or completed) by
 * Paved's probes. Fails on a container that cannot start, one that keeps crashing, or at the
 * readiness timeout — always with evidence.
 */
export async function readinessGate(engine: Engine, gate: Gate): Promise<GateResult> {
  const { instance, watch, desired, started, events, signal, exits } = gate;
  const name = desired.name;
  const startedAt = Date.now();
  const deadline = startedAt + gate.readinessTimeoutMs;
  const pending = instance.layout.containers.filter((container) => !started.includes(container));
  const reported = new Map<string, number>();
  /** Containers others wait on to `complete` (migrations): they run once, before the others. */
  const releasePhase = new Set(instance.layout.completes);
  const fail = async (error: string, snapshot?: WatchSnapshot): Promise<GateResult> => ({
    ok: false,
    error,
    evidence: await instanceEvidence(engine, exits, watch, snapshot),
  });
  for (;;) {
    const snapshot = await watch.evaluate(gate.probeIntervalMs);
    for (const view of snapshot.containers) {
      if (view.restartCount > (reported.get(view.name) ?? 0)) {
        reported.set(view.name, view.restartCount);
        const code = exits.lastExit(view.id);
        events({
          level: 'warn',
          type: 'container.restarted',
          workload: name,
          container: view.name,
          message: `container "${view.name}" of workload "${name}" restarted (${view.restartCount} so far${code === undefined ? '' : `, last exit code ${code}`})`,
        });
      }
      if (view.restartCount >= GATE_CRASH_LIMIT) {
        return fail(
          `workload "${name}" container "${view.name}" crashed ${view.restartCount} times before it was ready (${await lastExitOf(exits, view)}); see its logs`,
          snapshot,
        );
      }
      const wasStarted = !pending.includes(view.name);
      if (wasStarted && view.status === 'exited' && view.exitCode !== 0 && releasePhase.has(view.name)) {
        const code = exits.lastExit(view.id) ?? view.exitCode;
        return fail(
          `workload "${name}" release-phase container "${view.name}" exited with code ${code} before completing; the containers waiting for it to complete were not started and it is not run again (see its logs)`,
          snapshot,
        );
      }
      if (wasStarted && view.status === 'exited' && view.exitCode === 0 && !view.completed) {
        return fail(
          `workload "${name}" container "${view.name}" exited with code 0 right after it started; a container that no other container waits to \`complete\` must keep running`,
          snapshot,
        );
      }
      if (view.status === 'missing')
        return fail(
          `workload "${name}" container "${view.name}" disappeared while it was starting (removed from outside Paved?)`,
          snapshot,
        );
    }
    if (snapshot.sandboxDown && instance.sandbox !== undefined) {
      return fail(
        `workload "${name}": its sandbox container stopped while the workload was starting`,
        snapshot,
      );
    }
    for (const container of [...pending]) {
      const waits = Object.entries(desired.containers[container]?.before ?? {});
      const satisfied = waits.every(([other, condition]) => {
        const view = snapshot.containers.find((candidate) => candidate.name === other);
        if (view === undefined) return false;
        switch (condition.ready) {
          case 'started':
            return view.running || view.status === 'exited' || view.restartCount > 0;
          case 'healthy':
            return view.ready;
          case 'complete':
            return view.completed;
        }
      });
      if (!satisfied) continue;
      pending.splice(pending.indexOf(container), 1);
      const id = instance.containers.get(container) ?? '';
      try {
        await engine.docker.getContainer(id).start();
      } catch (error) {
        return fail(
          `workload "${name}" container "${container}" could not start: ${engineMessage(error)}`,
          snapshot,
        );
      }
      events({
        level: 'info',
        type: 'container.started',
        workload: name,
        container,
        message: `started container "${container}" of workload "${name}"`,
      });
    }
    if (pending.length === 0 && snapshot.ready) return { ok: true };
    if (signal.aborted)
      return fail(`workload "${name}": cancelled while waiting for it to become ready`, snapshot);
    if (Date.now() >= deadline) {
      const evidence = await instanceEvidence(engine, exits, watch, snapshot);
      const what =
        evidence.probe === undefined
          ? ''
          : `: ${evidence.probe} last answered ${evidence.lastStatus ?? 'nothing'}`;
      const waiting = pending.length === 0 ? '' : ` (containers ${pending.join(', ')} never got to start)`;
      // Crashes before the deadline say more than the timeout: a slow engine restarts slowly.
      const crashes: string[] = [];
      for (const view of snapshot.containers.filter((candidate) => candidate.restartCount > 0)) {
        crashes.push(
          `container "${view.name}" crashed ${view.restartCount} time${view.restartCount === 1 ? '' : 's'} (${await lastExitOf(exits, view)})`,
        );
      }
      const crashed = crashes.length === 0 ? '' : `: ${crashes.join(', ')}`;
      return {
        ok: false,
        error: `workload "${name}" did not become ready within ${Math.round(gate.readinessTimeoutMs / 1000)} s${crashed}${what}${waiting}; see the last log lines`,
        evidence,
      };
    }
    // Poll briskly while a fresh container comes up, then at the probe period (at most 200 ms).
    await sleep(Math.min(Date.now() - startedAt < 2000 ? 50 : 200, gate.probeIntervalMs), signal);
  }
}

/**
 * `last exit code N` of a container that crashed: from the engine's `die` event, which may trail
 * the restart count; while it runs again, inspect shows exit code 0, which would mislead.
 */
async function lastExitOf(
  exits: ExitCodes,
  view: { id: string; running: boolean; exitCode?: number },
): Promise<string> {
  const code =
    (await exits.nextExit(view.id, EXIT_EVENT_WAIT_MS)) ?? (view.running ? undefined : view.exitCode);
  return code === undefined ? 'last exit code not reported by the engine' : `last exit code ${code}`;
}

/** The evidence of a failed gate: the probe, its last answer or the container's exit, the last log lines. */
async function instanceEvidence(
  engine: Engine,
  exits: ExitCodes,
  watch: InstanceWatch,
  snapshot = watch.snapshot,
): Promise<NonNullable<ApplyOutcome['evidence']>> {
  const { instance } = watch;
  const groups = await Promise.all(
    instance.layout.containers.map(async (name) => {
      const id = instance.containers.get(name);
      return id === undefined
        ? []
        : readContainerLogs(engine, name, id, { tail: EVIDENCE_LOG_LINES }).catch(() => []);
    }),
  );
  const lastLogLines = mergeByTime(groups)
    .slice(-EVIDENCE_LOG_LINES)
    .map((line) => `${line.container}: ${line.line}`);
  const notReady = snapshot?.containers.find((view) => !view.ready);
  const probe =
    (notReady === undefined ? undefined : watch.probes.get(notReady.name)?.lastProbe) ??
    snapshot?.workloadCheck;
  let lastStatus = probe?.status;
  if (notReady !== undefined && !notReady.running) {
    const code = exits.lastExit(notReady.id);
    lastStatus = `container "${notReady.name}" ${notReady.status}${notReady.status === 'created' ? ' (not started)' : ` (exit code ${code ?? notReady.exitCode})`}`;
  }
  return {
    ...(probe === undefined ? {} : { probe: probe.probe }),
    ...(lastStatus === undefined ? {} : { lastStatus }),
    lastLogLines,
  };
}
