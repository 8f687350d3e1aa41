import { createHash } from 'node:crypto';
import { PavedError, stableStringify, validateScore, type Problem, type ScoreWorkload } from '@paved/core';
import type { DeploymentWorkload } from '@paved/store';
import type { ContextStore } from '../contexts/context-store.js';
import type { DeploymentRequest } from './deployment-request.js';

/** A validated workload, ready for the pipeline stages. */
export interface PreparedWorkload {
  workload: ScoreWorkload;
  /** Container → the unpacked context, for `image: .`. */
  contexts: Record<string, { dir: string; hash: string }>;
}

/**
 * Validates every workload of a request at once (Score problems carry the file names as uploaded)
 * and turns it into the stored form. Nothing is stored when there is a problem.
 *
 * @throws PavedError INVALID_INPUT listing every problem.
 */
export function workloadsOfRequest(request: DeploymentRequest, contexts: ContextStore): DeploymentWorkload[] {
  const problems: Problem[] = [];
  const workloads: DeploymentWorkload[] = [];
  const seen = new Map<string, string>();
  request.workloads.forEach((given, index) => {
    const result = validateScore(given.score, { file: given.file });
    problems.push(...result.problems.filter((problem) => problem.severity !== 'warning'));
    const workload = result.workload;
    if (workload === undefined) return;
    const name = workload.metadata.name;
    const other = seen.get(name);
    if (other !== undefined) {
      problems.push({
        file: given.file,
        path: 'metadata.name',
        message: `workload "${name}" is given twice (also in ${other}); give each workload once`,
      });
      return;
    }
    seen.set(name, given.file);
    const givenContexts = given.contexts ?? {};
    for (const [container, spec] of Object.entries(workload.containers)) {
      const override = request.images?.[`${name}.${container}`] ?? request.images?.[name];
      if (spec.image !== '.' || override !== undefined) continue;
      const hash = givenContexts[container];
      if (hash === undefined) {
        problems.push({
          file: given.file,
          path: `containers.${container}.image`,
          message: `workload "${name}" container "${container}" uses image "." but the request names no build context for it; deploy the Score file's folder or pass --build ${name}=DIR`,
        });
      } else if (!contexts.has(hash)) {
        problems.push({
          file: given.file,
          path: `workloads[${index}].contexts.${container}`,
          message: `build context ${hash} of workload "${name}" container "${container}" is not on the server; upload it first (PUT /api/v1/apps/{app}/contexts/${hash})`,
        });
      }
    }
    for (const container of Object.keys(givenContexts)) {
      if (!Object.hasOwn(workload.containers, container)) {
        problems.push({
          file: given.file,
          path: `workloads[${index}].contexts.${container}`,
          message: `a build context is given for container "${container}", which workload "${name}" does not have; its containers are ${Object.keys(workload.containers).join(', ')}`,
        });
      }
    }
    const sources = given.fileSources ?? {};
    for (const [container, spec] of Object.entries(workload.containers)) {
      for (const [target, file] of Object.entries(spec.files ?? {})) {
        if (file.source !== undefined && file.content === undefined && !Object.hasOwn(sources, file.source)) {
          problems.push({
            file: given.file,
            path: `containers.${container}.files.${target}.source`,
            message: `workload "${name}" container "${container}" file ${target} reads "${file.source}", which the request does not carry; the CLI sends it as fileSources["${file.source}"]`,
          });
        }
      }
    }
    const images: Record<string, string> = {};
    for (const container of Object.keys(workload.containers)) {
      const override = request.images?.[`${name}.${container}`] ?? request.images?.[name];
      if (override !== undefined) images[container] = override;
    }
    workloads.push({
      name,
      file: given.file,
      score: given.score,
      contexts: givenContexts,
      fileSources: sources,
      images,
    });
  });
  const names = new Set(workloads.map((workload) => workload.name));
  for (const key of Object.keys(request.images ?? {})) {
    const workload = key.split('.')[0] ?? key;
    if (!names.has(workload) && problems.length === 0) {
      problems.push({
        path: `images.${key}`,
        message: `--image ${key}: no workload "${workload}" is given; the workloads are ${[...names].join(', ') || '(none)'}`,
      });
    }
  }
  if (problems.length > 0) {
    const first = problems[0]!;
    throw PavedError.invalid(
      `${first.file === undefined ? '' : `${first.file}: `}${first.path === '' ? '' : `${first.path}: `}${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : ''}`,
      problems,
    );
  }
  return workloads;
}

/**
 * The environment's workloads after this deployment: the given ones, plus those of the current
 * deployment that are not given unless `prune`. Sorted by name, so the set id is stable.
 */
export function mergeWorkloads(
  given: DeploymentWorkload[],
  current: readonly DeploymentWorkload[],
  prune: boolean,
): DeploymentWorkload[] {
  const byName = new Map<string, DeploymentWorkload>();
  if (!prune) for (const workload of current) byName.set(workload.name, workload);
  for (const workload of given) byName.set(workload.name, workload);
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The content hash of a workload set (file names aside): equal sets deploy the same thing. */
export function setIdOf(workloads: readonly DeploymentWorkload[]): string {
  const canonical = stableStringify(
    workloads.map(({ name, score, contexts, fileSources, images }) => ({
      name,
      score,
      contexts,
      fileSources,
      images,
    })),
  );
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

/**
 * Parses stored workloads again for a run: inlines file sources, applies image overrides and
 * finds the unpacked contexts. Problems found now (a context removed from disk) fail the run.
 */
export function prepareWorkloads(
  stored: readonly DeploymentWorkload[],
  contexts: ContextStore,
): PreparedWorkload[] {
  const problems: Problem[] = [];
  const prepared: PreparedWorkload[] = [];
  for (const entry of stored) {
    const result = validateScore(entry.score, { file: entry.file });
    if (result.workload === undefined) {
      problems.push(...result.problems.filter((problem) => problem.severity !== 'warning'));
      continue;
    }
    const workload = structuredClone(result.workload);
    const found: Record<string, { dir: string; hash: string }> = {};
    for (const [name, container] of Object.entries(workload.containers)) {
      const override = entry.images[name];
      if (override !== undefined) container.image = override;
      for (const file of Object.values(container.files ?? {})) {
        if (
          file.source !== undefined &&
          file.content === undefined &&
          Object.hasOwn(entry.fileSources, file.source)
        ) {
          file.content = entry.fileSources[file.source];
          delete file.source;
        }
      }
      const hash = entry.contexts[name];
      if (container.image === '.' && hash !== undefined) {
        if (!contexts.has(hash)) {
          problems.push({
            file: entry.file,
            path: `containers.${name}.image`,
            message: `build context ${hash} of workload "${entry.name}" container "${name}" is no longer on the server; deploy again so the CLI uploads it`,
          });
        } else {
          found[name] = { dir: contexts.dir(hash), hash };
        }
      }
    }
    prepared.push({ workload, contexts: found });
  }
  if (problems.length > 0) {
    throw PavedError.invalid(
      problems.map((problem) => `${problem.file ?? ''}: ${problem.message}`).join('; '),
      problems,
    );
  }
  return prepared;
}
