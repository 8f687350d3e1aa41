/**
 * Every string of a workload or a resource's params where placeholders are expanded, with a
 * description of where it is for error messages. The graph finds dependencies here and the render
 * stage substitutes here, so both agree on what is expanded.
 */
import type { Container, ScoreWorkload } from '../score/types.js';

export type SiteKind = 'variable' | 'file' | 'volume' | 'command' | 'args';

export interface PlaceholderSite {
  kind: SiteKind;
  container: string;
  /** The variable name, file or volume target, or argument index. */
  key: string;
  value: string;
  /** JSON path of the value in the Score file. */
  path: string;
  /** For messages: `variable DB_HOST`, `container web file /etc/app.conf`. */
  where: string;
}

/** Placeholder sites of one container, in Score order. `binaryContent` and `noExpand` files are not sites. */
export function containerSites(containerName: string, container: Container): PlaceholderSite[] {
  const sites: PlaceholderSite[] = [];
  const base = `containers.${containerName}`;
  for (const [key, value] of Object.entries(container.variables ?? {})) {
    sites.push({
      kind: 'variable',
      container: containerName,
      key,
      value,
      path: `${base}.variables.${key}`,
      where: `variable ${key}`,
    });
  }
  for (const [target, file] of Object.entries(container.files ?? {})) {
    if (file.content === undefined || file.noExpand === true) continue;
    sites.push({
      kind: 'file',
      container: containerName,
      key: target,
      value: file.content,
      path: `${base}.files.${target}.content`,
      where: `container ${containerName} file ${target}`,
    });
  }
  for (const [target, volume] of Object.entries(container.volumes ?? {})) {
    sites.push({
      kind: 'volume',
      container: containerName,
      key: target,
      value: volume.source,
      path: `${base}.volumes.${target}.source`,
      where: `container ${containerName} volume ${target}`,
    });
  }
  for (const kind of ['command', 'args'] as const) {
    (container[kind] ?? []).forEach((value, index) => {
      sites.push({
        kind,
        container: containerName,
        key: String(index),
        value,
        path: `${base}.${kind}.${index}`,
        where: `container ${containerName} ${kind}[${index}]`,
      });
    });
  }
  return sites;
}

export function workloadSites(workload: ScoreWorkload): PlaceholderSite[] {
  return Object.entries(workload.containers).flatMap(([name, container]) => containerSites(name, container));
}

/** Every string inside params with its JSON path below `params`, e.g. `params.hosts.0`. */
export function paramStrings(value: unknown, path = 'params'): { path: string; value: string }[] {
  if (typeof value === 'string') return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => paramStrings(item, `${path}.${index}`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => paramStrings(item, `${path}.${key}`));
  }
  return [];
}
