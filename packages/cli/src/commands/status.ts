import type { EnvironmentStatus, WorkloadStatus } from '@paved/client';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { formatJson, formatTable, formatYaml, outputOption } from '../output.js';
import type { OutputFormat } from '../output.js';

/** The status table: one row per workload, restarts summed over its containers. */
export function formatStatus(status: EnvironmentStatus): string {
  const header =
    status.deployment === undefined || status.deployment === null
      ? `${status.app}/${status.env}: no deployment has succeeded yet`
      : `${status.app}/${status.env} runs deployment ${status.deployment}`;
  if (status.workloads.length === 0) {
    return `${header}\nNo workloads. Deploy some with: paved deploy ${status.app} ${status.env} FILES… --wait\n`;
  }
  return `${header}\n${formatTable<WorkloadStatus>(status.workloads, [
    { header: 'workload', value: (workload) => workload.name },
    { header: 'state', value: (workload) => workload.state },
    {
      header: 'ready',
      value: (workload) => workload.ready,
    },
    {
      header: 'restarts',
      value: (workload) => workload.containers.reduce((sum, container) => sum + container.restarts, 0),
    },
    { header: 'endpoints', value: (workload) => workload.endpoints },
  ])}${containerNotes(status.workloads)}`;
}

/**
 * One line per container that restarted or failed a probe: restart count, how its last run
 * ended, and its last failed check — what to look at first when a workload is unstable.
 */
function containerNotes(workloads: WorkloadStatus[]): string {
  const lines = workloads.flatMap((workload) =>
    workload.containers.flatMap((container) => {
      const failure = container.lastProbeFailure;
      if (container.restarts === 0 && failure === undefined) return [];
      const parts = [`${container.restarts} restart${container.restarts === 1 ? '' : 's'}`];
      if (container.exitCode !== undefined) parts.push(`last exit code ${container.exitCode}`);
      if (failure !== undefined)
        parts.push(`last probe failure ${failure.at}: ${failure.probe}: ${failure.status}`);
      return [`${workload.name}/${container.name}: ${parts.join(', ')}`];
    }),
  );
  return lines.length === 0 ? '' : `\n${lines.join('\n')}\n`;
}

/** `paved status APP ENV`. */
export function registerStatusCommand(program: Command, context: CliContext): void {
  program
    .command('status')
    .description(
      'show what an environment runs: each workload with its state, readiness, restarts and endpoints',
    )
    .usage('APP ENV [-o json|yaml|table]')
    .argument('<app>', 'name of the app')
    .argument('<env>', 'name of the environment')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
The state is starting, running, ready, failed or stopped, as the target sees it now; restarts
count every restart of the workload's containers since its current instance started (crashes and
failed liveness probes). Below the table, each container that restarted or failed a probe gets a
line with its restarts, how its last run ended and its last failed check. Endpoints are the URLs
its routes give it. Exits 3 if there is no such app or environment.

Examples:
  $ paved status shop dev
  $ paved status shop dev -o json | jq -r '.workloads[] | select(.name == "frontend") | .endpoints[0]'`,
    )
    .action(async (app: string, env: string, options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      const status = await client.status(app, env);
      context.print(
        options.output === 'json'
          ? formatJson(status)
          : options.output === 'yaml'
            ? formatYaml(status)
            : formatStatus(status),
      );
    });
}
