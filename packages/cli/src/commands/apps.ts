import type { App } from '@paved/client';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { outputOption, renderList, renderObject } from '../output.js';
import type { ListView, OutputFormat } from '../output.js';

const APPS_VIEW: ListView<App> = {
  columns: [
    { header: 'name', value: (app) => app.name },
    { header: 'team', value: (app) => app.team },
    { header: 'created', value: (app) => app.createdAt },
    { header: 'created by', value: (app) => app.createdBy },
  ],
  empty: 'No apps yet. Create one with: paved apps create APP',
};

function appFields(app: App): Array<readonly [string, unknown]> {
  return [
    ['Name', app.name],
    ['Team', app.team],
    ['Created', app.createdAt],
    ['Created by', app.createdBy],
  ];
}

/** `paved apps create | list | get | delete`. */
export function registerAppsCommands(program: Command, context: CliContext): void {
  const apps = program
    .command('apps')
    .description('create, list, show and delete apps')
    .addHelpText(
      'after',
      `
An app groups the environments a team deploys its workloads to. App names are DNS labels:
lower-case letters, digits and "-", at most 63 characters.

Examples:
  $ paved apps create shop --team payments
  $ paved apps list -o json
  $ paved apps get shop
  $ paved apps delete shop`,
    );

  apps
    .command('create')
    .description('create an app')
    .usage('APP [--team TEAM]')
    .argument('<app>', 'name of the new app')
    .option('--team <team>', 'team that owns the app')
    .addHelpText(
      'after',
      `
Exits 5 if an app of that name exists, 2 if the name is not a DNS label.

Examples:
  $ paved apps create shop
  $ paved apps create shop --team payments`,
    )
    .action(async (name: string, options: { team?: string }, command: Command) => {
      const client = await context.client(command);
      const app = await client.createApp({
        name,
        ...(options.team === undefined ? {} : { team: options.team }),
      });
      context.print(`Created app "${app.name}"${app.team ? ` (team ${app.team})` : ''}.`);
    });

  apps
    .command('list')
    .description('list the apps')
    .usage('[-o json|yaml|table]')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  $ paved apps list
  $ paved apps list -o json | jq -r '.[].name'`,
    )
    .action(async (options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      context.print(renderList(options.output, await client.listApps(), APPS_VIEW));
    });

  apps
    .command('get')
    .description('show one app')
    .usage('APP [-o json|yaml|table]')
    .argument('<app>', 'name of the app')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Exits 3 if there is no such app.

Examples:
  $ paved apps get shop
  $ paved apps get shop -o yaml`,
    )
    .action(async (name: string, options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      const app = await client.getApp(name);
      context.print(renderObject(options.output, app, appFields(app)));
    });

  apps
    .command('delete')
    .description('delete an app that has no environments left')
    .usage('APP')
    .argument('<app>', 'name of the app')
    .addHelpText(
      'after',
      `
Exits 5 while the app still has environments (delete them first with "paved envs delete"),
3 if there is no such app.

Examples:
  $ paved envs delete shop staging
  $ paved apps delete shop`,
    )
    .action(async (name: string, _options: unknown, command: Command) => {
      const client = await context.client(command);
      await client.deleteApp(name);
      context.print(`Deleted app "${name}".`);
    });
}
