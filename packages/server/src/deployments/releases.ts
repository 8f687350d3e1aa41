/**
 * Releases as a whole: rolling an environment back to what one of its deployments ran, and
 * promoting what one environment runs to another. Both deploy a stored deployment set through
 * the engine's queue, so they run, stream and record like any deployment.
 */
import { PavedError } from '@paved/core';
import type { Deployment, DeploymentWorkload, Environment, Store } from '@paved/store';
import type { DeploymentEngine } from './deployment-engine.js';
import { faultPoint } from './fault-injection.js';
import type { DeploymentPlanAnswer } from './run-deployment.js';

/**
 * `paved rollback APP ENV N`: a new deployment of exactly deployment N's set (workloads N did not
 * run are removed) with N's values. The values of the app and of the environment are written
 * again as they were at the versions N pinned (one new version each, noted as restored by this
 * rollback, only where they differ), and the new deployment pins those. Data is never touched:
 * stateful resources N did not use are detached by the run, as by any deploy.
 *
 * @throws PavedError NOT_FOUND (no deployment N), CONFLICT (N did not succeed).
 */
export async function rollback(
  engine: DeploymentEngine,
  environment: Environment,
  number: number,
  actor: string,
  message?: string,
): Promise<Deployment> {
  const { store } = engine;
  const { app, name: env } = environment;
  const target = await store.deployments.get(app, env, number);
  if (target === undefined) {
    throw new PavedError(
      'NOT_FOUND',
      `deployment ${number} of ${app}/${env} does not exist; paved deployments list ${app} ${env} shows them`,
      { details: { app, env, deployment: number } },
    );
  }
  if (target.status !== 'succeeded') {
    throw new PavedError(
      'CONFLICT',
      `deployment ${number} of ${app}/${env} ${target.status === 'queued' || target.status === 'running' ? 'has not finished' : target.status}; only a deployment that succeeded can be rolled back to (paved deployments list ${app} ${env} shows their status)`,
      { details: { app, env, deployment: number, status: target.status } },
    );
  }
  // Refuse before changing any value when the target cannot run here.
  await engine.runtimeOf(environment);
  const workloads = await setWorkloads(store, target);
  const pinned = target.valuesVersions;
  const note = `restored by ${actor}'s rollback of ${app}/${env} to deployment ${number}`;
  // The restored values and the deployment that pins them are written in one transaction: a
  // server stopped between the two leaves neither, never values no deployment runs with.
  const deployment = await engine.queue(environment, workloads, actor, {
    message: message ?? `rollback to deployment ${number}`,
    ...(pinned === undefined
      ? {}
      : {
          pinValues: async (tx: Store) => {
            const restored = {
              app: await tx.values.restore({ app }, pinned.app, actor, note),
              env: await tx.values.restore({ app, env }, pinned.env, actor, note),
            };
            faultPoint('mid-rollback');
            return restored;
          },
        }),
  });
  if (pinned === undefined) {
    await engine.appendEvent(deployment, {
      level: 'warn',
      type: 'rollback.values-kept',
      message: `deployment ${number} was recorded before deployments pinned their values versions: its set is restored, the values stay as they are now`,
    });
  }
  return deployment;
}

/**
 * `paved promote APP --from SOURCE --to TARGET`: deploys the set the source environment runs now
 * (its last succeeded deployment) to the target, exactly (workloads the set lacks are removed
 * there), with the target's own values and the definitions that match the target. With `plan`,
 * answers what that would change and creates nothing.
 *
 * @throws PavedError INVALID_INPUT (source = target), NOT_FOUND (no source environment),
 *   CONFLICT (the source runs nothing).
 */
export async function promote(
  engine: DeploymentEngine,
  target: Environment,
  from: string,
  actor: string,
  options: { plan?: boolean; message?: string } = {},
): Promise<Deployment | DeploymentPlanAnswer> {
  const { store } = engine;
  const { app } = target;
  if (from === target.name) {
    throw PavedError.invalid(`cannot promote ${app}/${from} to itself; give another environment with --to`, [
      { path: 'from', message: 'is the environment promoted to' },
    ]);
  }
  if ((await store.environments.get(app, from)) === undefined) {
    throw new PavedError(
      'NOT_FOUND',
      `environment "${from}" of app "${app}" does not exist; paved envs list ${app} shows the environments`,
      { details: { app, env: from } },
    );
  }
  const source = await store.deployments.current(app, from);
  if (source === undefined) {
    throw new PavedError(
      'CONFLICT',
      `${app}/${from} has no succeeded deployment, so there is nothing to promote; deploy to ${from} first`,
      { details: { app, env: from } },
    );
  }
  const workloads = await setWorkloads(store, source);
  if (options.plan === true) return engine.planWorkloads(target, workloads);
  return engine.queue(target, workloads, actor, {
    message: options.message ?? `promote deployment ${source.number} of ${from}`,
  });
}

/** The workloads of a deployment's set, from the set's own record (the deployment's copy else). */
async function setWorkloads(store: Store, deployment: Deployment): Promise<DeploymentWorkload[]> {
  return (await store.sets.get(deployment.app, deployment.setId))?.workloads ?? deployment.workloads;
}
