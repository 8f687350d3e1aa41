import type { Deployment } from '@paved/client';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { followDeployment } from '../follow-deployment.js';
import { outputOption, renderObject } from '../output.js';
import type { OutputFormat } from '../output.js';
import { parseDeploymentNumber } from './deployments.js';

interface RollbackFlags {
  message?: string;
  wait?: boolean;
  output: OutputFormat;
}

/**
 * What a started deployment says on a terminal without --wait: its number and how to follow or
 * cancel it. Shared by rollback and promote.
 */
export function describeQueued(deployment: Deployment, what: string): string {
  const { app, env, number } = deployment;
  return (
    `Deployment ${number} of ${app}/${env} (${what}) is ${deployment.status}.\n` +
    `Follow it with: paved deployments get ${app} ${env} ${number} --wait\n` +
    `Cancel it with: paved deployments cancel ${app} ${env} ${number}`
  );
}

/** `paved rollback APP ENV N`. */
export function registerRollbackCommand(program: Command, context: CliContext): void {
  program
    .command('rollback')
    .description("deploy deployment N's set and values again, as a new deployment; data is never touched")
    .usage('APP ENV N [--message TEXT] [--wait] [-o json|yaml|table]')
    .argument('<app>', 'name of the app')
    .argument('<env>', 'name of the environment')
    .argument('<n>', 'the deployment to roll back to (it must have succeeded)')
    .option('-m, --message <text>', 'why: kept with the deployment (default "rollback to deployment N")')
    .option(
      '--wait',
      'follow the deployment until it ends, with live progress; the exit code tells how it ended',
    )
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
The new deployment runs exactly deployment N's set: workloads N did not run are removed. The
app's and the environment's values are restored to the versions N used: one new values version
per scope where they differ, shown by "paved values history" as restored by this rollback. App
values are shared by every environment of the app, so the restored ones apply to the others at
their next deploy. Stateful resources (databases, volumes) are never deprovisioned: those N did
not use are detached and keep their data.

Exit codes: 0 queued, or (with --wait) succeeded; 3 no such app, environment or deployment; 4 not
allowed; 5 deployment N did not succeed (or, with --wait, the rollback was cancelled); 6 (with
--wait) it failed.

Examples:
  $ paved rollback shop dev 7 --wait
  $ paved rollback shop production 12 --message "checkout broke in 13" --wait
  $ paved rollback shop dev 7 -o json`,
    )
    .action(async (app: string, env: string, n: string, flags: RollbackFlags, command: Command) => {
      const number = parseDeploymentNumber(n);
      const client = await context.client(command);
      const created = await client.rollback(app, env, number, {
        ...(flags.message === undefined ? {} : { message: flags.message }),
      });
      if (flags.wait !== true) {
        context.print(
          flags.output === 'table'
            ? describeQueued(created, `rollback to deployment ${number}`)
            : renderObject(flags.output, created, []),
        );
        return;
      }
      const finished = await followDeployment(context, client, app, env, created.number);
      if (flags.output !== 'table') context.print(renderObject(flags.output, finished, []));
      else if (finished.status === 'succeeded') {
        context.print(
          `${app}/${env} runs deployment ${number}'s release again. See it with: paved status ${app} ${env}`,
        );
      }
    });
}
