import type { Deployment, PavedClient } from '@paved/client';
import { PavedError } from '@paved/core';
import type { CliContext } from './cli-context.js';
import { DeploymentProgress } from './progress.js';

/**
 * Exit codes of a followed deployment: succeeded 0; failed 6 (a driver or target failed, as in
 * the error table); cancelled 5, a conflict: someone else decided it should not finish, which a
 * script must not take for success or for a broken platform.
 */
export const DEPLOYMENT_EXIT: Record<Deployment['status'], number> = {
  succeeded: 0,
  failed: 6,
  cancelled: 5,
  queued: 0,
  running: 0,
};

/**
 * Follows a deployment to its end with the live progress display on stderr (so that `-o json`
 * on stdout stays parseable), returns the finished deployment, sets the exit code by
 * {@link DEPLOYMENT_EXIT} and prints the error with its evidence when it failed.
 */
export async function followDeployment(
  context: CliContext,
  client: PavedClient,
  app: string,
  env: string,
  number: number,
): Promise<Deployment> {
  const progress = new DeploymentProgress(context.io.stderr, app, env, number);
  for await (const item of client.deploymentEvents(app, env, number)) {
    if (item.kind === 'event') {
      progress.event(item.event);
      continue;
    }
    const deployment = item.deployment;
    progress.finish(deployment);
    context.exitCode = DEPLOYMENT_EXIT[deployment.status];
    if (deployment.status === 'failed' && deployment.error !== undefined) {
      context.printError(`error: ${deployment.error}`);
      context.printError(`hint: see every step with: paved deployments get ${app} ${env} ${number}`);
    }
    return deployment;
  }
  // deploymentEvents either ends with the deployment or throws; this is a contract breach.
  throw new PavedError('INTERNAL', `the event stream of deployment ${number} ended without its result`);
}
