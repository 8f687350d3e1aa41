/**
 * `paved resources explain`: which definition matches one workload's resource in an environment,
 * and why every other candidate lost — the same matching the deployment engine runs.
 */
import { DEFAULT_CLASS, matchDefinition, PavedError, validateScore, type RuntimeKind } from '@paved/core';
import type { Store } from '@paved/store';
import { requireEnvironment } from '../routes/lookups.js';
import { platformDefinitions } from './platform-definitions.js';

export interface ResourceExplanation {
  app: string;
  env: string;
  workload: string;
  resource: string;
  uid: string;
  type: string;
  class: string;
  id: string;
  winner: { name: string; version: number } | null;
  candidates: {
    name: string;
    version: number;
    fallback: boolean;
    matched: boolean;
    specificity: number;
    reason: string;
  }[];
  /** The definition the active resource was provisioned with, when it exists. */
  active?: { definition: string; definitionVersion: number; status: string };
}

/**
 * Explains against the workloads of the environment's current deployment. `targetKind` tells the
 * kind of a target by its name (defaults shipped for one kind of target match only there).
 */
export async function explainResource(
  store: Store,
  target: { app: string; env: string; workload: string; resource: string },
  targetKind?: (name: string) => Promise<RuntimeKind | undefined>,
): Promise<ResourceExplanation> {
  const { app, env, workload, resource } = target;
  const environment = await requireEnvironment(store, app, env);
  const current = await store.deployments.current(app, env);
  if (current === undefined) {
    throw new PavedError(
      'NOT_FOUND',
      `nothing is deployed to ${app}/${env} yet, so there is no workload "${workload}" to explain; deploy first (paved deploy ${app} ${env} FILES…)`,
    );
  }
  const entry = current.workloads.find((candidate) => candidate.name === workload);
  if (entry === undefined) {
    throw new PavedError(
      'NOT_FOUND',
      `workload "${workload}" is not deployed to ${app}/${env}; its workloads are ${current.workloads.map((candidate) => candidate.name).join(', ')}`,
    );
  }
  const parsed = validateScore(entry.score, { file: entry.file }).workload;
  const requested = parsed?.resources?.[resource];
  if (requested === undefined) {
    const names = Object.keys(parsed?.resources ?? {});
    throw new PavedError(
      'NOT_FOUND',
      `workload "${workload}" in ${app}/${env} has no resource "${resource}"; ${names.length === 0 ? 'it has none' : `its resources are ${names.join(', ')}`}`,
    );
  }
  const request = {
    type: requested.type,
    class: requested.class ?? DEFAULT_CLASS,
    id: requested.id ?? `${workload}.${resource}`,
  };
  const uid = `${request.type}.${request.class}#${request.id}`;
  const kind = await targetKind?.(environment.target);
  const result = matchDefinition(await platformDefinitions(store), request, {
    app,
    env,
    envType: environment.type,
    ...(kind === undefined ? {} : { targetKind: kind }),
  });
  const active = await store.resources.get(app, env, uid);
  return {
    app,
    env,
    workload,
    resource,
    uid,
    ...request,
    winner: result.winner === undefined ? null : { name: result.winner.name, version: result.winner.version },
    candidates: result.candidates.map((candidate) => ({
      name: candidate.definition.name,
      version: candidate.definition.version,
      fallback: candidate.definition.fallback === true,
      matched: candidate.matched,
      specificity: candidate.specificity,
      reason: candidate.reason,
    })),
    ...(active === undefined
      ? {}
      : {
          active: {
            definition: active.definition,
            definitionVersion: active.definitionVersion,
            status: active.status,
          },
        }),
  };
}
