import { DEPLOYMENT_STEPS } from '@paved/core';
import type { Deployment, DeploymentEvent, DeploymentStep } from '@paved/client';

/** The pipeline's steps in order; the display shows them even before they start. */
export const STEP_NAMES: readonly string[] = DEPLOYMENT_STEPS;

type StepState = DeploymentStep['status'];

const STEP_MARK: Record<StepState, string> = {
  pending: '·',
  running: '›',
  succeeded: '✓',
  failed: '✗',
  skipped: '-',
};

export interface ProgressOutput {
  write(text: string): unknown;
  /** A terminal gets a compact block redrawn in place; anything else gets plain lines. */
  isTTY?: boolean;
  columns?: number;
}

/** `08:31:02` of an ISO timestamp, in UTC like the timestamps themselves. */
function clock(time: string): string {
  const match = /T(\d\d:\d\d:\d\d)/.exec(time);
  return match === null ? time : match[1]!;
}

/**
 * One event as a plain line, for logs and pipes: `08:31:02 frontend: ready`, warnings and errors
 * marked so that they can be grepped.
 *
 * @example
 * formatEventLine({ seq: 1, time: '2026-01-01T08:31:02Z', level: 'warn', type: 'x', workload: 'web', message: 'slow' });
 * // '08:31:02 web: warning: slow'
 */
export function formatEventLine(event: DeploymentEvent): string {
  const scope = event.workload ?? event.step;
  // Step messages already start with the step's name ("validate started"); saying it twice is noise.
  const named = scope !== undefined && new RegExp(`^${escapeRegExp(scope)}\\b`).test(event.message);
  const prefix = scope === undefined || named ? '' : `${scope}: `;
  const level = event.level === 'warn' ? 'warning: ' : event.level === 'error' ? 'error: ' : '';
  return `${clock(event.time)} ${prefix}${level}${event.message}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The step an event reports on: its `step` field, else the step a `step.*` event names. */
function stepOf(event: DeploymentEvent): string | undefined {
  if (event.step !== undefined) return event.step;
  if (!event.type.startsWith('step.')) return undefined;
  return STEP_NAMES.find((name) => new RegExp(`\\b${name}\\b`).test(event.message));
}

/** `step.started` → running, `step.succeeded` → succeeded…; other suffixes leave the step as it is. */
function stepState(type: string): StepState | undefined {
  const suffix = type.slice(type.lastIndexOf('.') + 1);
  if (suffix === 'started' || suffix === 'running') return 'running';
  if (suffix === 'succeeded' || suffix === 'finished' || suffix === 'done') return 'succeeded';
  if (suffix === 'failed') return 'failed';
  if (suffix === 'skipped') return 'skipped';
  return undefined;
}

/** Seconds between two timestamps, `1.2s`, or undefined if either is missing. */
export function duration(from: string | undefined, to: string | undefined): string | undefined {
  if (from === undefined || to === undefined) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

/** The last line of a finished deployment: what happened and how long it took. */
export function formatOutcome(deployment: Deployment): string {
  const name = `Deployment ${deployment.number} of ${deployment.app}/${deployment.env}`;
  const took = duration(deployment.startedAt ?? deployment.createdAt, deployment.finishedAt);
  const time = took === undefined ? '' : ` in ${took}`;
  switch (deployment.status) {
    case 'succeeded':
      return `${name} succeeded${time}.`;
    case 'failed': {
      const step = deployment.steps.find((candidate) => candidate.status === 'failed');
      return `${name} failed${step === undefined ? '' : ` in step ${step.name}`}${time}.`;
    }
    case 'cancelled':
      return `${name} was cancelled; the environment runs what it ran before.`;
    case 'queued':
    case 'running':
      return `${name} is ${deployment.status}.`;
  }
}

/**
 * The live view of `deploy --wait`: stage by stage, workload by workload. On a terminal it keeps
 * a compact block (one line of steps, one line per workload) redrawn in place, with warnings and
 * errors printed above it so they stay; elsewhere (CI logs, pipes) it prints one plain line per
 * event, because cursor movements would only garble a log file.
 *
 * @example
 * const progress = new DeploymentProgress(process.stderr, 'shop', 'dev', 3);
 * for await (const item of client.deploymentEvents('shop', 'dev', 3)) {
 *   if (item.kind === 'event') progress.event(item.event); else progress.finish(item.deployment);
 * }
 */
export class DeploymentProgress {
  readonly #out: ProgressOutput;
  readonly #title: string;
  readonly #steps = new Map<string, StepState>(STEP_NAMES.map((name) => [name, 'pending']));
  readonly #workloads = new Map<string, { state: string; message: string }>();
  /** Lines of the block currently on screen, to move back over when redrawing. */
  #drawn = 0;

  constructor(out: ProgressOutput, app: string, env: string, number: number) {
    this.#out = out;
    this.#title = `Deployment ${number} of ${app}/${env}`;
    if (out.isTTY !== true) out.write(`Following ${this.#title}…\n`);
  }

  event(event: DeploymentEvent): void {
    const step = stepOf(event);
    const state = stepState(event.type);
    if (step !== undefined && state !== undefined && event.workload === undefined) {
      this.#steps.set(step, state);
    }
    // Events about resources carry the resource's id (`type.class#workload.name`) where a
    // workload's name would be; the block shows workloads only, the step line covers the rest.
    if (event.workload !== undefined && !event.workload.includes('#')) {
      const previous = this.#workloads.get(event.workload);
      const workloadState = event.type.startsWith('workload.')
        ? event.type.slice('workload.'.length)
        : (previous?.state ?? 'working');
      this.#workloads.set(event.workload, { state: workloadState, message: event.message });
    }
    if (this.#out.isTTY !== true) {
      this.#out.write(`${formatEventLine(event)}\n`);
      return;
    }
    // Warnings and errors scroll up and stay; the rest only updates the block.
    const keep = event.level === 'info' ? '' : `${formatEventLine(event)}\n`;
    this.#redraw(keep);
  }

  /** Replaces the block with its final state (from the deployment's own steps) and the outcome. */
  finish(deployment: Deployment): void {
    for (const step of deployment.steps) this.#steps.set(step.name, step.status);
    if (this.#out.isTTY === true) this.#redraw('', true);
    this.#out.write(`${formatOutcome(deployment)}\n`);
  }

  /** The block as lines, without cursor movements; what a terminal shows. */
  block(): string[] {
    // One mark per step keeps the line within a terminal's width; the step named is the one
    // that runs (or failed, or the last one reached), which is what a reader looks for.
    const states = [...this.#steps];
    const marks = states.map(([, state]) => STEP_MARK[state]).join('');
    const current =
      states.find(([, state]) => state === 'failed' || state === 'running') ??
      [...states].reverse().find(([, state]) => state !== 'pending' && state !== 'skipped');
    const where = current === undefined ? 'waiting' : `${current[0]} ${current[1]}`;
    const lines = [`${this.#title} [${marks}] ${where}`];
    const width = Math.max(0, ...[...this.#workloads.keys()].map((name) => name.length));
    for (const [name, { state, message }] of this.#workloads) {
      lines.push(`  ${name.padEnd(width)}  ${state.padEnd(9)} ${message}`.trimEnd());
    }
    return lines;
  }

  #redraw(above: string, final = false): void {
    // A pseudo-terminal without a size reports 0 columns; assume the classic 80 then.
    const columns = this.#out.columns !== undefined && this.#out.columns > 0 ? this.#out.columns : 80;
    // A line wider than the terminal wraps and would throw off the count of lines to move up.
    const lines = this.block().map((line) =>
      line.length > columns - 1 ? `${line.slice(0, columns - 2)}…` : line,
    );
    const back = this.#drawn > 0 ? `\u001b[${this.#drawn}F\u001b[J` : '';
    this.#out.write(`${back}${above}${lines.join('\n')}\n`);
    this.#drawn = final ? 0 : lines.length;
  }
}
