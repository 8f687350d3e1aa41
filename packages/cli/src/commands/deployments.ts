import type { Deployment } from '@paved/client';
import { formatDeploymentDiff, PavedError } from '@paved/core';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { followDeployment } from '../follow-deployment.js';
import { formatDetails, formatTable, outputOption, renderList, renderObject } from '../output.js';
import type { ListView, OutputFormat } from '../output.js';
import { duration } from '../progress.js';

const DEPLOYMENTS_VIEW: ListView<Deployment> = {
  columns: [
    { header: 'number', value: (deployment) => deployment.number },
    { header: 'status', value: (deployment) => deployment.status },
    { header: 'message', value: (deployment) => deployment.message },
    { header: 'actor', value: (deployment) => deployment.actor },
    { header: 'created', value: (deployment) => deployment.createdAt },
    {
      header: 'took',
      value: (deployment) => duration(deployment.startedAt, deployment.finishedAt),
    },
  ],
  empty: 'No deployments yet. Deploy with: paved deploy APP ENV FILES… --wait',
};

/**
 * A deployment for people: its fields, then its steps with their timings, then the error (which
 * carries the evidence: probe, last answer, last log lines) in full, never cut to a table cell.
 */
export function formatDeployment(deployment: Deployment): string {
  let text = formatDetails([
    ['Deployment', `${deployment.number} of ${deployment.app}/${deployment.env}`],
    ['Status', deployment.status],
    ['Message', deployment.message],
    ['Actor', deployment.actor],
    ['Set', deployment.setId],
    [
      'Values',
      deployment.valuesVersions === undefined
        ? undefined
        : `app version ${deployment.valuesVersions.app}, environment version ${deployment.valuesVersions.env}`,
    ],
    ['Created', deployment.createdAt],
    ['Started', deployment.startedAt],
    ['Finished', deployment.finishedAt],
    ['Took', duration(deployment.startedAt, deployment.finishedAt)],
  ]);
  if (deployment.steps.length > 0) {
    text += `\nSteps:\n${formatTable(deployment.steps, [
      { header: 'step', value: (step) => step.name },
      { header: 'status', value: (step) => step.status },
      { header: 'started', value: (step) => step.startedAt },
      { header: 'took', value: (step) => duration(step.startedAt, step.finishedAt) },
      { header: 'error', value: (step) => (step.error === undefined ? undefined : firstLine(step.error)) },
    ])}`;
  }
  if (deployment.error !== undefined && deployment.error !== '') {
    text += `\nError:\n${deployment.error
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n')}\n`;
  }
  return text;
}

function firstLine(text: string): string {
  const [line = ''] = text.split('\n');
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

/** `N` as a deployment number; anything else is invalid input before a request is made. */
export function parseDeploymentNumber(text: string): number {
  if (!/^[1-9]\d{0,9}$/.test(text)) {
    throw new PavedError(
      'INVALID_INPUT',
      `"${text}" is not a deployment number: deployments are numbered per environment from 1 (see "paved deployments list APP ENV")`,
    );
  }
  return Number(text);
}

/** One side of `deployments diff`: `N` (in `env`, when given) or `ENV:N`. */
export function parseDeploymentRef(text: string, env: string | undefined): { env: string; number: number } {
  const match = /^([^:]+):(.*)$/.exec(text);
  if (match !== null) return { env: match[1] as string, number: parseDeploymentNumber(match[2] as string) };
  if (env === undefined) {
    throw new PavedError(
      'INVALID_INPUT',
      `"${text}" names no environment: give ENV:N (e.g. staging:12), or APP ENV A B to compare two deployments of one environment`,
    );
  }
  return { env, number: parseDeploymentNumber(text) };
}

/** `paved deployments list | get | cancel | diff`. */
export function registerDeploymentsCommands(program: Command, context: CliContext): void {
  const deployments = program
    .command('deployments')
    .description("list, show, follow and cancel an environment's deployments")
    .addHelpText(
      'after',
      `
Deployments are numbered per environment from 1. One runs at a time per environment; others
queue behind it.

Examples:
  $ paved deployments list shop dev
  $ paved deployments get shop dev 3
  $ paved deployments get shop dev 4 --wait
  $ paved deployments cancel shop dev 4
  $ paved deployments diff shop dev 7 9
  $ paved deployments diff shop staging:12 production:4`,
    );

  deployments
    .command('list')
    .description('list the deployments of an environment, newest first')
    .usage('APP ENV [-o json|yaml|table]')
    .argument('<app>', 'name of the app')
    .argument('<env>', 'name of the environment')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Exits 3 if there is no such app or environment.

Examples:
  $ paved deployments list shop dev
  $ paved deployments list shop dev -o json | jq '.[0].status'`,
    )
    .action(async (app: string, env: string, options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      context.print(renderList(options.output, await client.listDeployments(app, env), DEPLOYMENTS_VIEW));
    });

  deployments
    .command('get')
    .description('show one deployment: its steps with timings, and its error')
    .usage('APP ENV N [--wait] [-o json|yaml|table]')
    .argument('<app>', 'name of the app')
    .argument('<env>', 'name of the environment')
    .argument('<n>', 'the deployment number')
    .option('--wait', 'follow it with live progress until it ends (exit 0 succeeded, 6 failed, 5 cancelled)')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Exits 3 if there is no such deployment. With --wait it exits like "paved deploy --wait".

Examples:
  $ paved deployments get shop dev 3
  $ paved deployments get shop dev 3 -o yaml
  $ paved deployments get shop dev 4 --wait`,
    )
    .action(
      async (
        app: string,
        env: string,
        n: string,
        options: { output: OutputFormat; wait?: boolean },
        command: Command,
      ) => {
        const number = parseDeploymentNumber(n);
        const client = await context.client(command);
        let deployment = await client.getDeployment(app, env, number);
        if (options.wait === true) {
          deployment = await followDeployment(context, client, app, env, number);
        }
        context.print(
          options.output === 'table'
            ? formatDeployment(deployment)
            : renderObject(options.output, deployment, []),
        );
      },
    );

  deployments
    .command('cancel')
    .description('cancel a queued or running deployment; the environment keeps what it ran before')
    .usage('APP ENV N [-o json|yaml|table]')
    .argument('<app>', 'name of the app')
    .argument('<env>', 'name of the environment')
    .argument('<n>', 'the deployment number')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
A queued deployment is cancelled at once; a running one stops at its next step and the
environment is left on what it ran before. Exits 3 if there is no such deployment, 5 if it has
already finished.

Examples:
  $ paved deployments cancel shop dev 4
  $ paved deployments cancel shop dev 4 -o json`,
    )
    .action(
      async (app: string, env: string, n: string, options: { output: OutputFormat }, command: Command) => {
        const number = parseDeploymentNumber(n);
        const client = await context.client(command);
        const deployment = await client.cancelDeployment(app, env, number);
        if (options.output !== 'table') {
          context.print(renderObject(options.output, deployment, []));
          return;
        }
        context.print(
          deployment.status === 'cancelled'
            ? `Cancelled deployment ${number} of ${app}/${env}.`
            : `Cancelling deployment ${number} of ${app}/${env} (now ${deployment.status}); follow it with: paved deployments get ${app} ${env} ${number} --wait`,
        );
      },
    );
  deployments
    .command('diff')
    .description('compare two deployments, of one environment or across two')
    .usage('APP ENV A B | APP ENVA:A ENVB:B [-o json|yaml|table]')
    .argument('<app>', 'name of the app')
    .argument('<first>', 'ENV (then A and B are numbers) or ENVA:A')
    .argument('<second>', 'A (after ENV) or ENVB:B')
    .argument('[third]', 'B, when the environment was given first')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Shows what changed from the first deployment to the second: workloads added, removed or changed
(code, Score file, images and digests, variables, files, ports, limits) and resources added,
removed or changed (definition, driver, params). Secret values are never shown or compared: a
secret appears only when it is added or removed.

Exits 0 whether or not the deployments differ (use -o json and .identical to tell); 3 if a
deployment or environment does not exist; 2 for a malformed ENV:N.

Examples:
  $ paved deployments diff shop dev 7 9
  $ paved deployments diff shop staging:12 production:4
  $ paved deployments diff shop dev 7 9 -o json | jq '.workloads[].name'`,
    )
    .action(
      async (
        app: string,
        first: string,
        second: string,
        third: string | undefined,
        options: { output: OutputFormat },
        command: Command,
      ) => {
        const [from, to] =
          third === undefined
            ? [parseDeploymentRef(first, undefined), parseDeploymentRef(second, undefined)]
            : [parseDeploymentRef(second, first), parseDeploymentRef(third, first)];
        const client = await context.client(command);
        const diff = await client.diffDeployments(app, from, to);
        context.print(
          options.output === 'table' ? formatDeploymentDiff(diff) : renderObject(options.output, diff, []),
        );
      },
    );
}
