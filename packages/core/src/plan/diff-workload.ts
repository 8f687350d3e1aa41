/**
 * A field-level diff of two rendered specs of a workload, for `deploy --plan` and
 * `deployments diff`. Secret variables, secret arguments and secret file content never appear, only
 * that they changed.
 */
import { createHash } from 'node:crypto';
import { UNKNOWN_OUTPUT } from '../render/expand-template.js';
import { stableStringify } from '../request/stable-stringify.js';
import type { RenderedContainer, RenderedFile, RenderedWorkload } from '../runtime.js';

/** What the plan shows in place of a secret value. */
export const SECRET_MASK = '(secret)';

/** Text files up to this length, on one line, are shown as they are; longer ones by size and hash. */
const SHOWN_FILE_LENGTH = 80;

export interface FieldChange {
  /** e.g. `containers.web.variables.DB_HOST`, `containers.web.image`, `ports.http`. */
  field: string;
  /** Absent when the field is added. */
  before?: string;
  /** Absent when the field is removed. */
  after?: string;
}

function show(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : stableStringify(value);
}

function compare(changes: FieldChange[], field: string, before: unknown, after: unknown): void {
  const shownBefore = show(before);
  const shownAfter = show(after);
  if (shownBefore === shownAfter) return;
  changes.push({
    field,
    ...(shownBefore === undefined ? {} : { before: shownBefore }),
    ...(shownAfter === undefined ? {} : { after: shownAfter }),
  });
}

/**
 * A secret value as the plan may show it: masked, but saying when it is not known yet (the
 * marker is not secret, and tells the reader the value comes from a resource still to provision).
 */
function maskSecret(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.includes(UNKNOWN_OUTPUT) ? `${SECRET_MASK}, ${UNKNOWN_OUTPUT}` : SECRET_MASK;
}

/**
 * A file as the plan shows it: short one-line text as it is, anything longer by size and the
 * start of its SHA-256 (so two versions visibly differ), a secret file only by the mask.
 */
function describeFile(file: RenderedFile | undefined): string | undefined {
  if (file === undefined) return undefined;
  const mode = file.mode === undefined ? '' : `, mode ${file.mode}`;
  if (file.secret === true) {
    return `${maskSecret(typeof file.content === 'string' ? file.content : '') ?? SECRET_MASK}${mode}`;
  }
  if (
    typeof file.content === 'string' &&
    file.content.length <= SHOWN_FILE_LENGTH &&
    !/[\r\n]/.test(file.content)
  ) {
    return `${JSON.stringify(file.content)}${mode}`;
  }
  const bytes = typeof file.content === 'string' ? Buffer.byteLength(file.content) : file.content.byteLength;
  const hash = createHash('sha256').update(file.content).digest('hex').slice(0, 12);
  return `${bytes} bytes, sha256:${hash}…${mode}`;
}

/**
 * A command or args list with every argument that received a secret output masked. Two lists
 * that differ only in a secret argument compare equal, as secret variables do in a diff of
 * masked records; the plan still updates the workload (its spec hash changed).
 */
export function maskArguments(
  container: Pick<RenderedContainer, 'command' | 'args' | 'secretArguments'> | undefined,
  kind: 'command' | 'args',
): string[] | undefined {
  const list = container?.[kind];
  if (list === undefined) return undefined;
  const secret = new Set(container?.secretArguments ?? []);
  return list.map((value, index) => (secret.has(`${kind}.${index}`) ? maskSecret(value)! : value));
}

function diffContainer(
  changes: FieldChange[],
  base: string,
  before: RenderedContainer | undefined,
  after: RenderedContainer | undefined,
): void {
  if (before === undefined || after === undefined) {
    compare(
      changes,
      base,
      before === undefined ? undefined : 'container',
      after === undefined ? undefined : 'container',
    );
    if (after === undefined) return;
  }
  compare(changes, `${base}.image`, before?.image, after.image);
  compare(changes, `${base}.context`, before?.context?.hash, after.context?.hash);
  for (const kind of ['command', 'args'] as const) {
    const field = `${base}.${kind}`;
    const shownBefore = show(maskArguments(before, kind));
    const shownAfter = show(maskArguments(after, kind));
    if (shownBefore !== shownAfter) compare(changes, field, shownBefore, shownAfter);
    else if (show(before?.[kind]) !== show(after[kind]) && shownAfter !== undefined) {
      // Only a secret argument changed: say so without showing either value.
      changes.push({ field, before: shownAfter, after: `${shownAfter}, a secret argument changed` });
    }
  }

  const secret = new Set([...(before?.secretVariables ?? []), ...after.secretVariables]);
  const keys = new Set([...Object.keys(before?.variables ?? {}), ...Object.keys(after.variables)]);
  for (const key of [...keys].sort()) {
    const old = before?.variables[key];
    const now = after.variables[key];
    if (old === now) {
      const wasSecret = before?.secretVariables.includes(key) === true;
      if (now !== undefined && wasSecret !== after.secretVariables.includes(key)) {
        // Same value, now (or no longer) from a secret output: still never shown.
        changes.push({
          field: `${base}.variables.${key}`,
          before: SECRET_MASK,
          after: `${SECRET_MASK}, ${wasSecret ? 'no longer' : 'now'} secret`,
        });
      }
      continue;
    }
    if (secret.has(key)) {
      const shownBefore = maskSecret(old);
      const shownAfter = maskSecret(now);
      changes.push({
        field: `${base}.variables.${key}`,
        ...(shownBefore === undefined ? {} : { before: shownBefore }),
        ...(shownAfter === undefined ? {} : { after: shownAfter }),
      });
    } else {
      compare(changes, `${base}.variables.${key}`, old, now);
    }
  }

  const filesBefore = new Map((before?.files ?? []).map((file) => [file.target, file]));
  const filesAfter = new Map(after.files.map((file) => [file.target, file]));
  for (const target of [...new Set([...filesBefore.keys(), ...filesAfter.keys()])].sort()) {
    const old = filesBefore.get(target);
    const now = filesAfter.get(target);
    if (old !== undefined && now !== undefined && stableStringify(old) === stableStringify(now)) continue;
    const field = `${base}.files.${target}`;
    const shownBefore = describeFile(old);
    const shownAfter = describeFile(now);
    changes.push({
      field,
      ...(shownBefore === undefined ? {} : { before: shownBefore }),
      ...(shownAfter === undefined
        ? {}
        : { after: shownAfter === shownBefore ? `${shownAfter}, content changed` : shownAfter }),
    });
  }

  const volumesBefore = new Map((before?.volumes ?? []).map((volume) => [volume.target, volume]));
  const volumesAfter = new Map(after.volumes.map((volume) => [volume.target, volume]));
  for (const target of [...new Set([...volumesBefore.keys(), ...volumesAfter.keys()])].sort()) {
    compare(changes, `${base}.volumes.${target}`, volumesBefore.get(target), volumesAfter.get(target));
  }
  compare(changes, `${base}.limits`, before?.limits, after.limits);
  compare(changes, `${base}.requests`, before?.requests, after.requests);
  compare(changes, `${base}.readinessProbe`, before?.readinessProbe, after.readinessProbe);
  compare(changes, `${base}.livenessProbe`, before?.livenessProbe, after.livenessProbe);
  // No container to wait for is the same as none given: a new workload does not show `{}`.
  const waits = (value: RenderedContainer['before'] | undefined) =>
    value === undefined || Object.keys(value).length === 0 ? undefined : value;
  compare(changes, `${base}.before`, waits(before?.before), waits(after.before));
}

/** Every field that differs between two specs of one workload, in a stable order. */
export function diffWorkload(before: RenderedWorkload, after: RenderedWorkload): FieldChange[] {
  const changes: FieldChange[] = [];
  const names = [...new Set([...Object.keys(before.containers), ...Object.keys(after.containers)])].sort();
  for (const name of names)
    diffContainer(changes, `containers.${name}`, before.containers[name], after.containers[name]);
  const ports = [...new Set([...Object.keys(before.ports), ...Object.keys(after.ports)])].sort();
  for (const port of ports) compare(changes, `ports.${port}`, before.ports[port], after.ports[port]);
  return changes;
}
