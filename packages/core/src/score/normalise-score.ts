import type { ScoreDocument } from './score-schema.js';
import type { Container, ContainerFile, ContainerVolume, ScoreWorkload } from './types.js';

type DocumentContainer = ScoreDocument['containers'][string];

/**
 * Turns a schema-valid document into a {@link ScoreWorkload}: the deprecated list forms of files
 * and volumes become mappings keyed by target path, and `target` fields disappear. Call it only
 * when validation found no errors (the rules guarantee every list item has a unique target).
 */
export function normaliseScore(document: ScoreDocument): ScoreWorkload {
  const containers: Record<string, Container> = {};
  for (const [name, container] of Object.entries(document.containers)) {
    containers[name] = normaliseContainer(container);
  }
  const { apiVersion, metadata, service, resources } = document;
  return {
    apiVersion,
    metadata,
    ...(service === undefined ? {} : { service }),
    containers,
    ...(resources === undefined ? {} : { resources }),
  };
}

function normaliseContainer(container: DocumentContainer): Container {
  const { files, volumes, ...rest } = container;
  const out: Container = { ...rest };
  if (files !== undefined) out.files = byTarget<ContainerFile>(files);
  if (volumes !== undefined) out.volumes = byTarget<ContainerVolume>(volumes);
  return out;
}

function byTarget<T>(
  items: (T & { target?: string })[] | Record<string, T & { target?: string }>,
): Record<string, T> {
  const out: Record<string, T> = {};
  const pairs = Array.isArray(items)
    ? items.map((item): [string, T & { target?: string }] => [item.target ?? '', item])
    : Object.entries(items);
  for (const [target, item] of pairs) {
    const { target: _ignored, ...rest } = item;
    out[target] = rest as T;
  }
  return out;
}
