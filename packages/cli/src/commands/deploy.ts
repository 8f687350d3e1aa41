import type { Deployment, DeploymentPlan } from '@paved/client';
import { Option } from 'commander';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import {
  describeUpload,
  parseBuildFlags,
  parseImageFlags,
  parseSize,
  readDeployInput,
  uploadContexts,
} from '../deploy-input.js';
import { followDeployment } from '../follow-deployment.js';
import { formatJson, formatTable, formatYaml, outputOption } from '../output.js';
import type { OutputFormat } from '../output.js';

interface DeployFlags {
  image: string[];
  build: string[];
  message?: string;
  plan?: boolean;
  prune?: boolean;
  wait?: boolean;
  maxContextSize?: string;
  output: OutputFormat;
}

const PLAN_MARK: Record<string, string> = {
  create: '+',
  update: '~',
  unchanged: '=',
  delete: '-',
  detach: '>',
};

/** What each resource action means for the resource, in the words a platform user knows. */
const RESOURCE_VERB: Record<string, string> = {
  create: 'provision',
  update: 'update',
  unchanged: 'keep',
  delete: 'deprovision',
  detach: 'detach',
};

/** A full content hash is noise on a terminal: its first 12 digits tell two versions apart. */
function shortenHashes(text: string): string {
  return text.replace(/sha256:([0-9a-f]{12})[0-9a-f]{52}/g, 'sha256:$1…');
}

/** One field change: `+ field = value` (added), `- field (was value)` (removed), `~ field: a → b`. */
function formatChange(change: DeploymentPlan['workloads'][number]['changes'][number]): string {
  if (change.before === undefined) return shortenHashes(`+ ${change.field} = ${change.after ?? ''}`);
  if (change.after === undefined) return shortenHashes(`- ${change.field} (was ${change.before})`);
  return shortenHashes(`~ ${change.field}: ${change.before} → ${change.after}`);
}

/**
 * A plan for people: one line per workload and per resource with its action and why, the
 * workload's rendered fields below it (all of a new workload's, the changed ones of an update),
 * then the summary, and whether the deploy would change anything at all.
 *
 * @example
 * formatPlan({ app: 'shop', env: 'dev', workloads: [{ name: 'web', action: 'create', changes: [] }], resources: [], summary: '1 to create', noChanges: false });
 */
export function formatPlan(plan: DeploymentPlan): string {
  const lines = [`Plan for ${plan.app}/${plan.env} (nothing has been changed):`, '', 'Workloads:'];
  if (plan.workloads.length === 0) lines.push('  (none)');
  const width = Math.max(0, ...plan.workloads.map((workload) => workload.name.length));
  const actionWidth = Math.max(0, ...plan.workloads.map((workload) => workload.action.length));
  for (const workload of plan.workloads) {
    const reason = workload.reason === undefined || workload.reason === '' ? '' : `  (${workload.reason})`;
    lines.push(
      `  ${PLAN_MARK[workload.action] ?? '?'} ${workload.name.padEnd(width)}  ${workload.action.padEnd(actionWidth)}${reason}`.trimEnd(),
    );
    for (const change of workload.changes) lines.push(`      ${formatChange(change)}`);
  }
  lines.push('', 'Resources:');
  if (plan.resources.length === 0) lines.push('  (none)');
  else {
    const table = formatTable(plan.resources, [
      {
        header: 'action',
        value: (resource) =>
          `${PLAN_MARK[resource.action] ?? '?'} ${RESOURCE_VERB[resource.action] ?? resource.action}`,
      },
      { header: 'resource', value: (resource) => resource.uid },
      { header: 'type', value: (resource) => resource.type },
      { header: 'why', value: (resource) => resource.reason },
    ]);
    lines.push(
      ...table
        .trimEnd()
        .split('\n')
        .map((line) => `  ${line}`),
    );
  }
  lines.push('', `Summary: ${plan.summary}`);
  if (plan.noChanges) lines.push('No changes: deploying this provisions nothing and restarts nothing.');
  return `${lines.join('\n')}\n`;
}

function render(format: OutputFormat, value: Deployment | DeploymentPlan): string {
  return format === 'yaml' ? formatYaml(value) : formatJson(value);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `paved deploy APP ENV FILES…`. */
export function registerDeployCommand(program: Command, context: CliContext): void {
  program
    .command('deploy')
    .description('deploy Score files to an environment (adds or updates those workloads, keeps the others)')
    .usage(
      'APP ENV FILES… [--image WORKLOAD[.CONTAINER]=REF]… [--build WORKLOAD=DIR]… [--message TEXT] [--plan] [--prune] [--wait]',
    )
    .argument('<app>', 'name of the app')
    .argument('<env>', 'name of the environment')
    .argument('<files...>', 'Score files, one workload each')
    .option(
      '--image <workload[.container]=ref>',
      'use this image instead of building: for every container of the workload, or one container (repeatable)',
      collect,
      [],
    )
    .option(
      '--build <workload=dir>',
      "build the workload's image: . containers from DIR instead of its Score file's folder (repeatable)",
      collect,
      [],
    )
    .option('-m, --message <text>', 'why: kept with the deployment')
    .option(
      '--plan',
      'print what would change (per workload, field by field, and per resource) and change nothing',
    )
    .option(
      '--prune',
      'also remove running workloads that the given files do not name (their stateful resources are detached, never deleted)',
    )
    .option(
      '--wait',
      'follow the deployment until it ends, with live progress; the exit code tells how it ended',
    )
    .addOption(
      new Option(
        '--max-context-size <size>',
        'largest build context to upload, compressed (e.g. 100MiB)',
      ).default('50MiB'),
    )
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Every Score file is read and validated first, with the files its containers read with "source:";
any problem in any file stops the deploy before anything is uploaded (exit 2, all problems
listed). Containers with "image: ." are built from a build context: the Score file's folder, or
the --build directory, less what its .dockerignore (else .gitignore) excludes, and never .git.
Each context is packed deterministically and content-hashed; the CLI uploads it only if the
server does not have it yet, so an unchanged folder costs one HEAD request and restarts nothing.

Without --wait the command prints the deployment's number and returns: the deployment is queued
and runs when the environment has no other one running. With --wait it shows every step and
workload as it happens (redrawn in place on a terminal, plain lines otherwise, on stderr) and
exits with how it ended. -o json|yaml prints the deployment (or, with --plan, the plan).

Workloads whose files are not given keep running as they are, not restarted; --prune removes
them, but a stateful resource they used (postgres, mysql, redis, amqp, volume…) is only
detached, with its data.
--plan provisions, allocates and starts nothing. It lists each workload to create, update, leave
(unchanged) or remove, with its rendered fields: all of a new workload's, the changed ones of an
update (variables, files, images, commands, ports, limits, probes). Secret values show as
(secret); outputs of resources not provisioned yet as (known after provisioning). Resources are
listed to provision, update, keep, deprovision or detach. A plan with nothing to do ends with
"No changes" (-o json: "noChanges": true), and deploying it restarts nothing.

Exit codes: 0 queued, or (with --wait) succeeded; 2 a Score file, flag or context is invalid or
too large; 3 no such app or environment; 4 not allowed; 5 (with --wait) the deployment was
cancelled; 6 (with --wait) it failed: the error and its evidence are printed.

Examples:
  $ paved deploy shop dev examples/shop/*/score.yaml --wait
  $ paved deploy shop dev score.yaml --message "fix the cart total" --wait
  $ paved deploy shop dev score.yaml --plan
  $ paved deploy shop prod score.yaml --image web=ghcr.io/acme/web@sha256:4f1c… --wait
  $ paved deploy shop dev api/score.yaml --build api=. --image api.proxy=envoyproxy/envoy:v1.31
  $ paved deploy shop dev */score.yaml --prune -o json`,
    )
    .action(async (app: string, env: string, files: string[], flags: DeployFlags, command: Command) => {
      // Everything the user typed is checked before the first request.
      const images = parseImageFlags(flags.image);
      const builds = parseBuildFlags(flags.build);
      const maxBytes = parseSize(flags.maxContextSize ?? '50MiB');
      const input = await readDeployInput({ files, images, builds, cwd: context.io.cwd });
      if (flags.message !== undefined) input.request.message = flags.message;
      if (flags.prune === true) input.request.prune = true;

      const client = await context.client(command);
      await uploadContexts(client, app, input, {
        maxBytes,
        onReport: (report) => context.printError(describeUpload(report)),
      });

      if (flags.plan === true) {
        const plan = await client.planDeployment(app, env, input.request);
        context.print(flags.output === 'table' ? formatPlan(plan) : render(flags.output, plan));
        return;
      }

      const created = await client.deploy(app, env, input.request);
      if (flags.wait !== true) {
        if (flags.output !== 'table') {
          context.print(render(flags.output, created));
          return;
        }
        context.print(
          `Deployment ${created.number} of ${app}/${env} is ${created.status}.\n` +
            `Follow it with: paved deployments get ${app} ${env} ${created.number} --wait\n` +
            `Cancel it with: paved deployments cancel ${app} ${env} ${created.number}`,
        );
        return;
      }
      const finished = await followDeployment(context, client, app, env, created.number);
      if (flags.output !== 'table') context.print(render(flags.output, finished));
      else if (finished.status === 'succeeded')
        context.print(`See what runs with: paved status ${app} ${env}`);
    });
}
