import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { followDeployment } from '../follow-deployment.js';
import { outputOption, renderObject } from '../output.js';
import type { OutputFormat } from '../output.js';
import { formatPlan } from './deploy.js';
import { describeQueued } from './rollback.js';

interface PromoteFlags {
  from: string;
  to: string;
  plan?: boolean;
  message?: string;
  wait?: boolean;
  output: OutputFormat;
}

/** `paved promote APP --from ENV --to ENV`. */
export function registerPromoteCommand(program: Command, context: CliContext): void {
  program
    .command('promote')
    .description("deploy what one environment runs to another, with the target's own values and definitions")
    .usage('APP --from ENV --to ENV [--plan] [--message TEXT] [--wait] [-o json|yaml|table]')
    .argument('<app>', 'name of the app')
    .requiredOption('--from <env>', 'the environment whose current deployment set is promoted')
    .requiredOption('--to <env>', 'the environment deployed to')
    .option(
      '--plan',
      'print what would change in the target (per workload and per resource) and change nothing',
    )
    .option('-m, --message <text>', 'why: kept with the deployment (default "promote deployment N of ENV")')
    .option(
      '--wait',
      'follow the deployment until it ends, with live progress; the exit code tells how it ended',
    )
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Deploys the set the --from environment runs now (its last succeeded deployment: Score files,
code, image overrides) to the --to environment, exactly: workloads the set lacks are removed
there. The target keeps its own values and secrets, and its resources are matched against the
definitions for its own environment type, so a production database stays a production one.

Exit codes: 0 queued, or (with --wait) succeeded; 2 --from and --to are the same; 3 no such app or
environment; 4 not allowed (deploying into --to needs what "paved deploy" there needs); 5 --from
has no succeeded deployment (or, with --wait, the deployment was cancelled); 6 (with --wait) it
failed.

Examples:
  $ paved promote shop --from staging --to production --plan
  $ paved promote shop --from dev --to staging --wait
  $ paved promote shop --from staging --to production --message "release 42" --wait -o json`,
    )
    .action(async (app: string, flags: PromoteFlags, command: Command) => {
      const client = await context.client(command);
      if (flags.plan === true) {
        const plan = await client.planPromotion(app, { from: flags.from, to: flags.to });
        context.print(flags.output === 'table' ? formatPlan(plan) : renderObject(flags.output, plan, []));
        return;
      }
      const created = await client.promote(app, {
        from: flags.from,
        to: flags.to,
        ...(flags.message === undefined ? {} : { message: flags.message }),
      });
      if (flags.wait !== true) {
        context.print(
          flags.output === 'table'
            ? describeQueued(created, `promoted from ${flags.from}`)
            : renderObject(flags.output, created, []),
        );
        return;
      }
      const finished = await followDeployment(context, client, app, flags.to, created.number);
      if (flags.output !== 'table') context.print(renderObject(flags.output, finished, []));
      else if (finished.status === 'succeeded') {
        context.print(
          `${app}/${flags.to} runs what ${flags.from} runs. See it with: paved status ${app} ${flags.to}`,
        );
      }
    });
}
