/**
 * What differs between two recorded deployments, of one environment or of two: workloads added,
 * removed or changed (code, Score file, images and digests, the masked rendered spec) and resources
 * added, removed or changed (definition, driver, params). Pure: it reads only the two records.
 *
 * Secret values are never shown and never compared: the records keep them masked, so a secret
 * variable or file shows up only when it is added or removed.
 */
import { createHash } from 'node:crypto';
import { stableStringify } from '../request/stable-stringify.js';
import type { RenderedWorkload } from '../runtime.js';
import { diffWorkload, type FieldChange } from './diff-workload.js';

/** The parts of a stored deployment (`Deployment` in @paved/store) a diff reads. */
export interface DiffableDeployment {
  app: string;
  env: string;
  number: number;
  setId: string;
  workloads: readonly {
    name: string;
    score: string;
    contexts: Record<string, string>;
    fileSources: Record<string, string>;
    images: Record<string, string>;
  }[];
  /** Masked rendered workloads, each possibly with `images` (container, reference, digest). */
  rendered?: unknown;
  /** The stored resource graph (`ResourceGraphJson`). */
  graph?: unknown;
}

export interface DeploymentDiffSide {
  app: string;
  env: string;
  number: number;
  setId: string;
}

export type DiffChange = 'added' | 'removed' | 'changed';

export interface WorkloadDiff {
  name: string;
  change: DiffChange;
  /** For `changed`: each field that differs, in a stable order. Empty for added and removed. */
  changes: FieldChange[];
}

export interface ResourceDiff {
  /** The resource uid, `<type>.<class>#<id>`. */
  uid: string;
  change: DiffChange;
  changes: FieldChange[];
}

export interface DeploymentDiff {
  from: DeploymentDiffSide;
  to: DeploymentDiffSide;
  /** Both deployments run the same deployment set (same workloads, code and images). */
  sameSet: boolean;
  /** Nothing this diff can see differs. */
  identical: boolean;
  /** Only workloads that differ, by name. */
  workloads: WorkloadDiff[];
  /** Only resources that differ, by uid. */
  resources: ResourceDiff[];
  /** Things the diff could not compare, e.g. a deployment that stopped before rendering. */
  notes: string[];
}

interface RecordedImage {
  container: string;
  reference: string;
  digest: string;
}

type RecordedWorkload = RenderedWorkload & { images?: RecordedImage[] };

interface RecordedResource {
  id: string;
  definition?: { name: string; version: number };
  driver?: string;
  shared?: boolean;
  params?: Record<string, unknown>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The rendered workloads by name, or undefined when the record has none (or none readable). */
function renderedOf(deployment: DiffableDeployment): Map<string, RecordedWorkload> | undefined {
  if (!Array.isArray(deployment.rendered)) return undefined;
  const byName = new Map<string, RecordedWorkload>();
  for (const entry of deployment.rendered as unknown[]) {
    if (!isObject(entry) || typeof entry.name !== 'string') continue;
    if (!isObject(entry.containers) || !isObject(entry.ports)) continue;
    byName.set(entry.name, entry as unknown as RecordedWorkload);
  }
  return byName;
}

function resourcesOf(deployment: DiffableDeployment): Map<string, RecordedResource> | undefined {
  if (!isObject(deployment.graph) || !Array.isArray(deployment.graph.nodes)) return undefined;
  const byId = new Map<string, RecordedResource>();
  for (const node of deployment.graph.nodes as unknown[]) {
    if (!isObject(node) || node.kind !== 'resource' || typeof node.id !== 'string') continue;
    byId.set(node.id, node as unknown as RecordedResource);
  }
  return byId;
}

function change(
  changes: FieldChange[],
  field: string,
  before: string | undefined,
  after: string | undefined,
) {
  if (before === after) return;
  changes.push({
    field,
    ...(before === undefined ? {} : { before }),
    ...(after === undefined ? {} : { after }),
  });
}

function contentHash(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

function keysOf(...records: (Record<string, unknown> | undefined)[]): string[] {
  return [...new Set(records.flatMap((record) => Object.keys(record ?? {})))].sort();
}

function imageText(image: RecordedImage | undefined): string | undefined {
  if (image === undefined) return undefined;
  return image.digest === '' || image.reference.endsWith(image.digest)
    ? image.reference
    : `${image.reference}@${image.digest}`;
}

function diffWorkloadRecords(
  before: DiffableDeployment['workloads'][number],
  after: DiffableDeployment['workloads'][number],
  renderedBefore: RecordedWorkload | undefined,
  renderedAfter: RecordedWorkload | undefined,
): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const container of keysOf(before.contexts, after.contexts)) {
    change(changes, `code.${container}`, before.contexts[container], after.contexts[container]);
  }
  change(
    changes,
    'score',
    before.score === after.score ? undefined : contentHash(before.score),
    before.score === after.score ? undefined : contentHash(after.score),
  );
  for (const container of keysOf(before.images, after.images)) {
    change(changes, `imageOverrides.${container}`, before.images[container], after.images[container]);
  }
  for (const path of keysOf(before.fileSources, after.fileSources)) {
    const old = before.fileSources[path];
    const now = after.fileSources[path];
    if (old === now) continue;
    const size = (text: string | undefined) =>
      text === undefined ? undefined : `${Buffer.byteLength(text)} bytes`;
    const shownAfter = size(now);
    change(
      changes,
      `fileSources.${path}`,
      size(old),
      shownAfter !== undefined && shownAfter === size(old) ? `${shownAfter}, content changed` : shownAfter,
    );
  }
  const imagesBefore = new Map((renderedBefore?.images ?? []).map((image) => [image.container, image]));
  const imagesAfter = new Map((renderedAfter?.images ?? []).map((image) => [image.container, image]));
  for (const container of [...new Set([...imagesBefore.keys(), ...imagesAfter.keys()])].sort()) {
    change(
      changes,
      `images.${container}`,
      imageText(imagesBefore.get(container)),
      imageText(imagesAfter.get(container)),
    );
  }
  if (renderedBefore !== undefined && renderedAfter !== undefined) {
    // The build-context hash is shown once, as `code.<container>`.
    changes.push(
      ...diffWorkload(renderedBefore, renderedAfter).filter(
        (item) => !/^containers\.[^.]+\.context$/.test(item.field),
      ),
    );
  }
  return changes;
}

function definitionText(resource: RecordedResource): string | undefined {
  return resource.definition === undefined
    ? undefined
    : `${resource.definition.name} v${resource.definition.version}`;
}

function diffResource(before: RecordedResource, after: RecordedResource): FieldChange[] {
  const changes: FieldChange[] = [];
  change(changes, 'definition', definitionText(before), definitionText(after));
  change(changes, 'driver', before.driver, after.driver);
  change(
    changes,
    'shared',
    before.shared === undefined ? undefined : String(before.shared),
    after.shared === undefined ? undefined : String(after.shared),
  );
  const params = (resource: RecordedResource) =>
    resource.params === undefined || Object.keys(resource.params).length === 0
      ? undefined
      : stableStringify(resource.params);
  change(changes, 'params', params(before), params(after));
  return changes;
}

function sideOf(deployment: DiffableDeployment): DeploymentDiffSide {
  return { app: deployment.app, env: deployment.env, number: deployment.number, setId: deployment.setId };
}

function label(side: DeploymentDiffSide): string {
  return `deployment ${side.number} of ${side.app}/${side.env}`;
}

/**
 * Compares deployment `from` with deployment `to` (the change that leads from one to the other).
 *
 * @example
 * const diff = diffDeployments(await store.deployments.get('shop', 'dev', 7), await store.deployments.get('shop', 'dev', 9));
 * console.log(formatDeploymentDiff(diff));
 */
export function diffDeployments(from: DiffableDeployment, to: DiffableDeployment): DeploymentDiff {
  const notes: string[] = [];
  const renderedFrom = renderedOf(from);
  const renderedTo = renderedOf(to);
  for (const [deployment, rendered] of [
    [from, renderedFrom],
    [to, renderedTo],
  ] as const) {
    if (rendered === undefined) {
      notes.push(
        `${label(sideOf(deployment))} has no rendered spec (it stopped before rendering): only its Score files, code and image overrides are compared`,
      );
    }
  }

  const workloadsFrom = new Map(from.workloads.map((workload) => [workload.name, workload]));
  const workloadsTo = new Map(to.workloads.map((workload) => [workload.name, workload]));
  const workloads: WorkloadDiff[] = [];
  for (const name of [...new Set([...workloadsFrom.keys(), ...workloadsTo.keys()])].sort()) {
    const before = workloadsFrom.get(name);
    const after = workloadsTo.get(name);
    if (before === undefined) workloads.push({ name, change: 'added', changes: [] });
    else if (after === undefined) workloads.push({ name, change: 'removed', changes: [] });
    else {
      const changes = diffWorkloadRecords(before, after, renderedFrom?.get(name), renderedTo?.get(name));
      if (changes.length > 0) workloads.push({ name, change: 'changed', changes });
    }
  }

  const resourcesFrom = resourcesOf(from);
  const resourcesTo = resourcesOf(to);
  const resources: ResourceDiff[] = [];
  if (resourcesFrom === undefined || resourcesTo === undefined) {
    for (const deployment of [
      resourcesFrom === undefined ? from : undefined,
      resourcesTo === undefined ? to : undefined,
    ]) {
      if (deployment !== undefined) {
        notes.push(
          `${label(sideOf(deployment))} has no resource graph (it stopped before the graph step): resources are not compared`,
        );
      }
    }
  } else {
    for (const uid of [...new Set([...resourcesFrom.keys(), ...resourcesTo.keys()])].sort()) {
      const before = resourcesFrom.get(uid);
      const after = resourcesTo.get(uid);
      if (before === undefined) resources.push({ uid, change: 'added', changes: [] });
      else if (after === undefined) resources.push({ uid, change: 'removed', changes: [] });
      else {
        const changes = diffResource(before, after);
        if (changes.length > 0) resources.push({ uid, change: 'changed', changes });
      }
    }
  }

  return {
    from: sideOf(from),
    to: sideOf(to),
    sameSet: from.setId === to.setId,
    identical: workloads.length === 0 && resources.length === 0,
    workloads,
    resources,
    notes,
  };
}

/** `sha256:<64 hex>` cut to 12 hex digits for a terminal; anything else as is. */
function short(text: string): string {
  return text.replace(/sha256:([0-9a-f]{12})[0-9a-f]{52}/g, 'sha256:$1…');
}

function fieldLine(prefix: string, item: FieldChange): string {
  const before = item.before === undefined ? '(none)' : short(item.before);
  const after = item.after === undefined ? '(none)' : short(item.after);
  const why = item.field.startsWith('code.') ? ' (code changed)' : '';
  return `${prefix}: ${item.field} ${before} → ${after}${why}`;
}

const SIGN: Record<DiffChange, string> = { added: '+', removed: '-', changed: '~' };

/**
 * The diff for a terminal: one line per change, `+` added, `-` removed, `~` changed.
 *
 * @example
 * formatDeploymentDiff(diff);
 * // ~ workload web: images.main localhost/web@sha256:a… → localhost/web@sha256:b…
 */
export function formatDeploymentDiff(diff: DeploymentDiff): string {
  const lines = [
    `From ${label(diff.from)} (set ${short(diff.from.setId)})`,
    `To   ${label(diff.to)} (set ${short(diff.to.setId)})${diff.sameSet ? ', the same deployment set' : ''}`,
    '',
  ];
  if (diff.identical) lines.push('No differences in workloads or resources.');
  for (const workload of diff.workloads) {
    const head = `${SIGN[workload.change]} workload ${workload.name}`;
    if (workload.change !== 'changed') lines.push(`${head} (${workload.change})`);
    for (const item of workload.changes) lines.push(fieldLine(head, item));
  }
  for (const resource of diff.resources) {
    const head = `${SIGN[resource.change]} resource ${resource.uid}`;
    if (resource.change !== 'changed') lines.push(`${head} (${resource.change})`);
    for (const item of resource.changes) lines.push(fieldLine(head, item));
  }
  if (diff.notes.length > 0) {
    lines.push('', ...diff.notes.map((note) => `Note: ${note}`));
  }
  lines.push(
    '',
    'Secret values are not shown or compared; a secret appears only when it is added or removed.',
  );
  return `${lines.join('\n')}\n`;
}
