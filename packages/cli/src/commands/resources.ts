import type { ActiveResource, ResourceDefinitionView, ResourceExplanation } from '@paved/client';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { formatJson, formatTable, formatYaml, outputOption, renderList, renderObject } from '../output.js';
import type { ListView, OutputFormat } from '../output.js';

function describeCriteria(definition: ResourceDefinitionView): string {
  if (definition.criteria.length === 0) return '(everywhere)';
  return definition.criteria
    .map((criterion) =>
      Object.entries(criterion)
        .map(([key, value]) => `${key}=${String(value)}`)
        .join(','),
    )
    .join(' | ');
}

const DEFINITIONS_VIEW: ListView<ResourceDefinitionView> = {
  columns: [
    { header: 'name', value: (definition) => definition.name },
    { header: 'version', value: (definition) => definition.version },
    { header: 'type', value: (definition) => definition.type },
    { header: 'class', value: (definition) => definition.class },
    { header: 'driver', value: (definition) => definition.driver },
    { header: 'criteria', value: describeCriteria },
  ],
  empty: 'No resource definitions yet. Apply some with: paved apply -f DIR',
};

const RESOURCES_VIEW: ListView<ActiveResource> = {
  columns: [
    { header: 'uid', value: (resource) => resource.uid },
    { header: 'type', value: (resource) => resource.type },
    { header: 'status', value: (resource) => resource.status },
    {
      header: 'definition',
      value: (resource) =>
        resource.definition === undefined
          ? undefined
          : `${resource.definition}${resource.definitionVersion === undefined ? '' : ` v${resource.definitionVersion}`}`,
    },
    { header: 'driver', value: (resource) => resource.driver },
    { header: 'updated', value: (resource) => resource.updatedAt },
  ],
  empty: 'No active resources. They are provisioned by: paved deploy APP ENV FILES…',
};

/** The explanation for people: the request, the winner, then every candidate and why. */
export function formatExplanation(explanation: ResourceExplanation): string {
  const lines = [
    `Resource ${explanation.uid} (type ${explanation.type}, class ${explanation.class}) of workload "${explanation.workload}" (resources.${explanation.resource}) in ${explanation.app}/${explanation.env}`,
    explanation.winner === null
      ? 'Winner: none (see the reasons below)'
      : `Winner: ${explanation.winner.name} v${explanation.winner.version}`,
    ...(explanation.active === undefined
      ? []
      : [
          `Active: provisioned by ${explanation.active.definition} v${explanation.active.definitionVersion} (${explanation.active.status})`,
        ]),
    '',
  ];
  const table =
    explanation.candidates.length === 0
      ? `No definition of type ${explanation.type} exists; apply one with: paved apply -f FILE\n`
      : formatTable(explanation.candidates, [
          {
            header: 'definition',
            value: (candidate) => `${candidate.name}${candidate.fallback ? ' (fallback)' : ''}`,
          },
          { header: 'version', value: (candidate) => candidate.version },
          { header: 'matched', value: (candidate) => candidate.matched },
          {
            header: 'specificity',
            value: (candidate) => (candidate.matched ? candidate.specificity : undefined),
          },
          { header: 'reason', value: (candidate) => candidate.reason },
        ]);
  return `${lines.join('\n')}\n${table}`;
}

/**
 * `paved resources list APP ENV | explain APP ENV WORKLOAD RESOURCE | definitions list |
 * definitions get NAME | definitions delete NAME [--force]`.
 */
export function registerResourcesCommands(program: Command, context: CliContext): void {
  const resources = program
    .command('resources')
    .description('list active resources and the resource definitions that provision them')
    .addHelpText(
      'after',
      `
Examples:
  $ paved resources list shop dev
  $ paved resources explain shop dev orders db
  $ paved resources rotate-credentials shop dev 'postgres.default#orders.db'
  $ paved resources definitions list
  $ paved resources definitions get dev-postgres -o yaml
  $ paved resources definitions delete old-postgres`,
    );

  resources
    .command('list')
    .description("list an environment's active resources with status, definition and version; secrets masked")
    .usage('APP ENV [-o json|yaml|table]')
    .argument('<app>', 'name of the app')
    .argument('<env>', 'name of the environment')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Exits 3 if the app or environment does not exist.

Examples:
  $ paved resources list shop dev
  $ paved resources list shop dev -o json`,
    )
    .action(async (app: string, env: string, options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      const items = await client.listResources(app, env);
      context.io.stdout.write(renderList(options.output, items, RESOURCES_VIEW));
    });

  resources
    .command('delete')
    .description('delete one active resource and its data, after a dump where its driver makes one')
    .usage('APP ENV RESOURCE_ID [--force]')
    .argument('<app>', 'name of the app')
    .argument('<env>', 'name of the environment')
    .argument('<resource-id>', 'the resource uid, as `paved resources list` shows it')
    .option('--force', 'delete it even though the current deployment uses it')
    .addHelpText(
      'after',
      `
Stateful resources a deploy no longer asks for are kept (detached) until deleted here. A resource
the current deployment uses is refused (exit 5) unless --force: its workloads would lose it.
Drivers that can dump their data do so first and say where.

Examples:
  $ paved resources delete shop dev 'postgres.default#orders.db'`,
    )
    .action(async (app: string, env: string, uid: string, options: { force?: boolean }, command: Command) => {
      const client = await context.client(command);
      const answer = await client.deleteResource(app, env, uid, { force: options.force === true });
      context.print([`Deleted resource "${uid}" of ${app}/${env}.`, ...answer.messages].join('\n'));
    });

  resources
    .command('rotate-credentials')
    .description(
      'give a resource new credentials, redeploy its environment with them, then revoke the old ones',
    )
    .usage('APP ENV RESOURCE_ID')
    .argument('<app>', 'name of the app')
    .argument('<env>', 'name of the environment')
    .argument('<resource-id>', 'the resource uid, as `paved resources list` shows it')
    .addHelpText(
      'after',
      `
The driver sets up new credentials while the current ones keep working; a deployment then
redeploys the current workloads unchanged so they start with the new ones, and this command waits
for it. Only if it succeeded are the old credentials revoked; if it failed, both keep working and
the command says so (exit 0: the rotation itself happened). Refused while a deployment of the
environment is queued or running (exit 5), for a detached resource (exit 5), an unknown one
(exit 3), and one whose driver hands out no credentials (exit 2).

Examples:
  $ paved resources rotate-credentials shop dev 'postgres.default#orders.db'`,
    )
    .action(async (app: string, env: string, uid: string, _options: unknown, command: Command) => {
      const client = await context.client(command);
      const answer = await client.rotateCredentials(app, env, uid);
      context.print(
        [
          `Rotated the credentials of resource "${uid}" of ${app}/${env}: deployment ${answer.deployment} redeployed the workloads.`,
          answer.revoked
            ? 'The old credentials are revoked.'
            : 'The old credentials were NOT revoked: the deployment did not succeed, so both the old and the new ones work.',
          ...answer.messages,
        ].join('\n'),
      );
    });

  resources
    .command('explain')
    .description("show which definition matches a workload's resource, and why each other one does not")
    .usage('APP ENV WORKLOAD RESOURCE [-o json|yaml|table]')
    .argument('<app>', 'name of the app')
    .argument('<env>', 'name of the environment')
    .argument('<workload>', 'name of the workload (as deployed)')
    .argument('<resource>', "name of the resource in the workload's Score file")
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Matches against the environment's current deployment and the definitions stored now, the way the
next deployment would; "Active" is what the resource was last provisioned with. Exits 3 if the
app, environment, workload or resource does not exist.

Examples:
  $ paved resources explain shop dev orders db
  $ paved resources explain shop dev orders db -o json`,
    )
    .action(
      async (
        app: string,
        env: string,
        workload: string,
        resource: string,
        options: { output: OutputFormat },
        command: Command,
      ) => {
        const client = await context.client(command);
        const explanation = await client.explainResource(app, env, workload, resource);
        context.io.stdout.write(
          options.output === 'json'
            ? formatJson(explanation)
            : options.output === 'yaml'
              ? formatYaml(explanation)
              : formatExplanation(explanation),
        );
      },
    );

  const definitions = resources
    .command('definitions')
    .description('list, show and delete resource definitions (applied with paved apply)')
    .addHelpText(
      'after',
      `
Examples:
  $ paved resources definitions list
  $ paved resources definitions get dev-postgres
  $ paved resources definitions delete old-postgres --force`,
    );

  definitions
    .command('list')
    .description('list resource definitions, latest version of each')
    .usage('[-o json|yaml|table]')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  $ paved resources definitions list
  $ paved resources definitions list -o json`,
    )
    .action(async (options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      const items = await client.listDefinitions();
      context.io.stdout.write(renderList(options.output, items, DEFINITIONS_VIEW));
    });

  definitions
    .command('get')
    .description('show a resource definition; secret inputs by name only')
    .usage('NAME [-o json|yaml|table]')
    .argument('<name>', 'name of the definition')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Exits 3 if there is no definition of that name.

Examples:
  $ paved resources definitions get dev-postgres`,
    )
    .action(async (name: string, options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      const definition = await client.getDefinition(name);
      context.io.stdout.write(
        renderObject(options.output, definition, [
          ['Name', definition.name],
          ['Version', definition.version],
          ['Type', definition.type],
          ['Class', definition.class],
          ['Driver', definition.driver],
          ['Values', definition.inputs.values],
          ['Secrets', definition.inputs.secretKeys.join(', ')],
          ['Criteria', describeCriteria(definition)],
          ['Stateful', definition.stateful],
          ['Created', definition.createdAt],
          ['Created by', definition.createdBy],
        ]),
      );
    });

  definitions
    .command('delete')
    .description('delete a resource definition; refused while active resources made by it exist')
    .usage('NAME [--force]')
    .argument('<name>', 'name of the definition')
    .option('--force', 'delete it even while active resources made by it exist; they keep their records')
    .addHelpText(
      'after',
      `
Without --force, a definition that made active resources (in any app and environment) is not
deleted: the command exits 5 and names them (app/env uid). With --force it is deleted anyway;
those resources keep their records (the definition name and version they were made with), and the
next deployment of their environments matches them against the definitions left — a deployment
fails at match when none does. Its version numbers are never reused. Exits 3 if there is no
definition of that name; the built-in defaults cannot be deleted.

Examples:
  $ paved resources definitions delete old-postgres
  $ paved resources definitions delete old-postgres --force`,
    )
    .action(async (name: string, options: { force?: boolean }, command: Command) => {
      const client = await context.client(command);
      const deleted = await client.deleteDefinition(name, { force: options.force === true });
      context.print(
        deleted.resources.length === 0
          ? `Deleted resource definition "${deleted.name}".`
          : `Deleted resource definition "${deleted.name}". The ${deleted.resources.length} active resource${deleted.resources.length === 1 ? '' : 's'} it made keep${deleted.resources.length === 1 ? 's' : ''} ${deleted.resources.length === 1 ? 'its record' : 'their records'}; the next deployment of ${deleted.resources.length === 1 ? 'its environment' : 'their environments'} matches ${deleted.resources.length === 1 ? 'it' : 'them'} again:\n${deleted.resources.map((resource) => `  ${resource.app}/${resource.env} ${resource.uid} (v${resource.definitionVersion}, ${resource.status})`).join('\n')}`,
      );
    });
}
