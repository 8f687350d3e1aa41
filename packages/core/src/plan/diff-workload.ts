/**
 * A field-level diff of two rendered specs of a workload, for `deploy --plan` and
 * `deployments diff`. Secret variables and secret file content never appear, only that they changed.
 */
import { stableStringify } from '../request/stable-stringify.js';
import type { RenderedContainer, RenderedFile, RenderedWorkload } from '../runtime.js';

/** What the plan shows in place of a secret value. */
export const SECRET_MASK = '(secret)';

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

function describeFile(file: RenderedFile | undefined): string | undefined {
  if (file === undefined) return undefined;
  if (file.secret === true) return SECRET_MASK;
  const bytes = typeof file.content === 'string' ? Buffer.byteLength(file.content) : file.content.byteLength;
  return `${bytes} bytes${file.mode === undefined ? '' : `, mode ${file.mode}`}`;
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
  compare(changes, `${base}.command`, before?.command, after.command);
  compare(changes, `${base}.args`, before?.args, after.args);

  const secret = new Set([...(before?.secretVariables ?? []), ...after.secretVariables]);
  const keys = new Set([...Object.keys(before?.variables ?? {}), ...Object.keys(after.variables)]);
  for (const key of [...keys].sort()) {
    const old = before?.variables[key];
    const now = after.variables[key];
    if (old === now) continue;
    const mask = (value: string | undefined): string | undefined =>
      value === undefined ? undefined : SECRET_MASK;
    if (secret.has(key)) {
      changes.push({
        field: `${base}.variables.${key}`,
        ...(old === undefined ? {} : { before: mask(old) }),
        ...(now === undefined ? {} : { after: mask(now) }),
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
  compare(changes, `${base}.before`, before?.before, after.before);
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
