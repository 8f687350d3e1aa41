import type { Team } from '@paved/client';
import { Option, type Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { outputOption, renderList, renderObject } from '../output.js';
import type { ListView, OutputFormat } from '../output.js';
import { describeBinding } from './users.js';

const TEAMS_VIEW: ListView<Team> = {
  columns: [
    { header: 'name', value: (team) => team.name },
    { header: 'description', value: (team) => team.description },
    { header: 'created', value: (team) => team.createdAt },
    { header: 'created by', value: (team) => team.createdBy },
  ],
  empty: 'No teams yet. Create one with: paved teams create TEAM',
};

function teamFields(team: Team): Array<readonly [string, unknown]> {
  return [
    ['Name', team.name],
    ['Description', team.description],
    ['Members', team.members],
    ['Roles', team.roles?.map(describeBinding)],
    ['Created', team.createdAt],
    ['Created by', team.createdBy],
  ];
}

/** `paved teams create | list | get | delete | add-member | remove-member`. */
export function registerTeamsCommands(program: Command, context: CliContext): void {
  const teams = program
    .command('teams')
    .description('create teams and manage their members')
    .addHelpText(
      'after',
      `
Teams own apps (paved apps create APP --team TEAM): their members may read those apps. Roles
granted to a team (paved roles grant ROLE --team TEAM …) apply to every member. Managing teams
needs the organisation manager or administrator role.

Examples:
  $ paved teams create web --member alice --member bob
  $ paved teams add-member web carol
  $ paved teams get web -o json`,
    );

  teams
    .command('create')
    .description('create a team')
    .usage('TEAM [--description TEXT] [--member NAME]…')
    .argument('<team>', 'a DNS label: lower-case letters, digits and "-"')
    .option('--description <text>', 'what the team does')
    .addOption(
      new Option('--member <name>', 'a user or service account to add (repeatable)')
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([]),
    )
    .addHelpText(
      'after',
      `\nExamples:\n  $ paved teams create web --description "The web team" --member alice --member bob`,
    )
    .action(async (name: string, options: { description?: string; member: string[] }, command: Command) => {
      const client = await context.client(command);
      const team = await client.createTeam({
        name,
        ...(options.description === undefined ? {} : { description: options.description }),
        ...(options.member.length === 0 ? {} : { members: options.member }),
      });
      context.print(
        `Created team "${team.name}"${(team.members ?? []).length === 0 ? '' : ` with ${(team.members ?? []).join(', ')}`}.`,
      );
    });

  teams
    .command('list')
    .description('list the teams')
    .usage('[-o json|yaml|table]')
    .addOption(outputOption())
    .addHelpText('after', `\nExamples:\n  $ paved teams list\n  $ paved teams list -o json`)
    .action(async (options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      context.print(renderList(options.output, await client.listTeams(), TEAMS_VIEW));
    });

  teams
    .command('get')
    .description('show a team with its members and roles')
    .usage('TEAM [-o json|yaml|table]')
    .argument('<team>', 'the team')
    .addOption(outputOption())
    .addHelpText('after', `\nExamples:\n  $ paved teams get web`)
    .action(async (name: string, options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      const team = await client.getTeam(name);
      context.print(renderObject(options.output, team, teamFields(team)));
    });

  teams
    .command('delete')
    .description('delete a team, its memberships and the roles granted to it')
    .usage('TEAM')
    .argument('<team>', 'the team')
    .addHelpText(
      'after',
      '\nExits 5 while an app names the team as its owner.\n\nExamples:\n  $ paved teams delete web',
    )
    .action(async (name: string, _options: unknown, command: Command) => {
      const client = await context.client(command);
      await client.deleteTeam(name);
      context.print(`Deleted team "${name}".`);
    });

  teams
    .command('add-member')
    .description('add a user or service account to a team')
    .usage('TEAM NAME')
    .argument('<team>', 'the team')
    .argument('<name>', 'the user or service account')
    .addHelpText('after', '\nExamples:\n  $ paved teams add-member web carol')
    .action(async (team: string, name: string, _options: unknown, command: Command) => {
      const client = await context.client(command);
      const updated = await client.addTeamMember(team, name);
      context.print(`Team "${team}" has ${(updated.members ?? []).join(', ')}.`);
    });

  teams
    .command('remove-member')
    .description('remove a user or service account from a team')
    .usage('TEAM NAME')
    .argument('<team>', 'the team')
    .argument('<name>', 'the user or service account')
    .addHelpText('after', '\nExamples:\n  $ paved teams remove-member web carol')
    .action(async (team: string, name: string, _options: unknown, command: Command) => {
      const client = await context.client(command);
      await client.removeTeamMember(team, name);
      context.print(`Removed "${name}" from team "${team}".`);
    });
}
