import type { Environment } from '@paved/client';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { outputOption, renderList, renderObject } from '../output.js';
import type { ListView, OutputFormat } from '../output.js';

const ENVS_VIEW: ListView<Environment> = {
  columns: [
    { header: 'name', value: (env) => env.name },
    { header: 'type', value: (env) => env.type },
    { header: 'target', value: (env) => env.target },
    { header: 'expires', value: (env) => env.expiresAt },
    { header: 'created', value: (env) => env.createdAt },
    { header: 'created by', value: (env) => env.createdBy },
  ],
  empty: 'No environments yet. Create one with: paved envs create APP ENV --type TYPE',
};

function envFields(env: Environment): Array<readonly [string, unknown]> {
  return [
    ['App', env.app],
    ['Name', env.name],
    ['Type', env.type],
    ['Target', env.target],
    ['Cloned from', env.clonedFrom],
    ['Expires', env.expiresAt],
    ['Created', env.createdAt],
    ['Created by', env.createdBy],
  ];
}

interface CreateOptions {
  type: string;
  target?: string;
  from?: string;
  ttl?: string;
}

/** `paved envs create | list | get | delete`. */
export function registerEnvsCommands(program: Command, context: CliContext): void {
  const envs = program
    .command('envs')
    .description("create, list, show and delete an app's environments")
    .addHelpText(
      'after',
      `
An environment is where an app's workloads run: it has a type (development, preview, staging,
production, …) and a target (process, docker, or a registered cluster). Names are DNS labels.

Examples:
  $ paved envs create shop staging --type staging
  $ paved envs create shop pr-42 --type preview --from staging --ttl 24h
  $ paved envs list shop
  $ paved envs delete shop pr-42 --delete-data`,
    );

  envs
    .command('create')
    .description('create an environment of an app')
    .usage('APP ENV --type TYPE [--target NAME] [--from ENV] [--ttl DURATION]')
    .argument('<app>', 'name of the app')
    .argument('<env>', 'name of the new environment')
    .requiredOption('--type <type>', 'environment type: development, preview, staging, production, …')
    .option(
      '--target <name>',
      "where it runs, one of paved targets list; default: the type's default target, else process",
    )
    .option('--from <env>', 'an environment of the same app to copy values from')
    .option(
      '--ttl <duration>',
      "delete it after <n>s|m|h|d, e.g. 72h; default: the type's TTL (preview: 72h)",
    )
    .addHelpText(
      'after',
      `
Exits 5 if the environment exists, 3 if the app (or --from) does not, 2 for an invalid name,
type or duration, or a target that does not exist (the message lists the targets).

Examples:
  $ paved envs create shop staging --type staging
  $ paved envs create shop dev --type development --target docker
  $ paved envs create shop pr-42 --type preview --from staging --ttl 24h`,
    )
    .action(async (app: string, name: string, options: CreateOptions, command: Command) => {
      const client = await context.client(command);
      const env = await client.createEnv(app, {
        name,
        type: options.type,
        ...(options.target === undefined ? {} : { target: options.target }),
        ...(options.from === undefined ? {} : { from: options.from }),
        ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
      });
      const expires = env.expiresAt ? `, expires ${env.expiresAt}` : '';
      context.print(
        `Created environment "${env.name}" of app "${env.app}" (type ${env.type}, target ${env.target}${expires}).`,
      );
    });

  envs
    .command('list')
    .description('list the environments of an app')
    .usage('APP [-o json|yaml|table]')
    .argument('<app>', 'name of the app')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  $ paved envs list shop
  $ paved envs list shop -o yaml`,
    )
    .action(async (app: string, options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      context.print(renderList(options.output, await client.listEnvs(app), ENVS_VIEW));
    });

  envs
    .command('get')
    .description('show one environment')
    .usage('APP ENV [-o json|yaml|table]')
    .argument('<app>', 'name of the app')
    .argument('<env>', 'name of the environment')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Exits 3 if there is no such app or environment.

Examples:
  $ paved envs get shop staging
  $ paved envs get shop staging -o json`,
    )
    .action(async (app: string, name: string, options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      const env = await client.getEnv(app, name);
      context.print(renderObject(options.output, env, envFields(env)));
    });

  envs
    .command('delete')
    .description('delete an environment')
    .usage('APP ENV [--delete-data] [--wait]')
    .argument('<app>', 'name of the app')
    .argument('<env>', 'name of the environment')
    .option(
      '--delete-data',
      'also delete its stateful resources (databases, volumes, …); without it they are kept',
    )
    .option(
      '--wait',
      'wait until the deletion has finished (deletion finishes before the command returns today, so this changes nothing yet)',
    )
    .addHelpText(
      'after',
      `
Exits 3 if there is no such app or environment.

Examples:
  $ paved envs delete shop pr-42
  $ paved envs delete shop pr-42 --delete-data`,
    )
    .action(
      async (
        app: string,
        name: string,
        options: { deleteData?: boolean; wait?: boolean },
        command: Command,
      ) => {
        const client = await context.client(command);
        // --wait is accepted now so that scripts written today keep working once deletion becomes
        // asynchronous; until then the DELETE answers only when the work is done.
        const teardown = await client.deleteEnv(app, name, { deleteData: options.deleteData === true });
        const lines = [
          `Deleted environment "${name}" of app "${app}"${options.deleteData === true ? ' and its data' : ''}.`,
          ...teardown.messages,
        ];
        if (teardown.kept.length > 0) {
          lines.push(
            `Kept with their data, as --delete-data was not given: ${teardown.kept.join(', ')}. Paved no longer tracks them; remove them on their servers when the data is no longer needed.`,
          );
        }
        context.print(lines.join('\n'));
      },
    );
}
