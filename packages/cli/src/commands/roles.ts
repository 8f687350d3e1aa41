import type { RoleBindingInput, RoleBindingView } from '@paved/client';
import { PavedError } from '@paved/core';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { outputOption, renderList } from '../output.js';
import type { ListView, OutputFormat } from '../output.js';

function describeScope(binding: RoleBindingView): string {
  const scope = binding.scope;
  switch (scope.kind) {
    case 'org':
      return 'organisation';
    case 'app':
      return `app ${scope.app}`;
    case 'env-type':
      return `env type ${scope.envType}`;
    default:
      return JSON.stringify(scope);
  }
}

const BINDINGS_VIEW: ListView<RoleBindingView> = {
  columns: [
    { header: 'subject', value: (binding) => binding.subject },
    { header: 'role', value: (binding) => binding.role },
    { header: 'on', value: describeScope },
    { header: 'granted', value: (binding) => binding.createdAt },
  ],
  empty: 'No role bindings match.',
};

interface SubjectOptions {
  user?: string;
  team?: string;
  serviceAccount?: string;
}

interface WhereOptions {
  app?: string;
  envType?: string;
}

/** `user:alice`, `team:web` or `service-account:ci` from exactly one of the flags, if any. */
function subjectOf(options: SubjectOptions, required: boolean): string | undefined {
  const given = [
    options.user === undefined ? undefined : `user:${options.user}`,
    options.team === undefined ? undefined : `team:${options.team}`,
    options.serviceAccount === undefined ? undefined : `service-account:${options.serviceAccount}`,
  ].filter((subject): subject is string => subject !== undefined);
  if (given.length > 1) {
    throw new PavedError('INVALID_INPUT', 'give one of --user, --team and --service-account, not several');
  }
  if (given.length === 0 && required) {
    throw new PavedError('INVALID_INPUT', 'to whom? give --user NAME, --team NAME or --service-account NAME');
  }
  return given[0];
}

function whereOf(options: WhereOptions): WhereOptions {
  if (options.app !== undefined && options.envType !== undefined) {
    throw new PavedError('INVALID_INPUT', 'give --app or --env-type, not both');
  }
  return {
    ...(options.app === undefined ? {} : { app: options.app }),
    ...(options.envType === undefined ? {} : { envType: options.envType }),
  };
}

function describe(input: RoleBindingInput): string {
  const where =
    input.app !== undefined
      ? `app ${input.app}`
      : input.envType !== undefined
        ? `environment type ${input.envType}`
        : 'the organisation';
  return `role ${input.role} of ${input.subject} on ${where}`;
}

/** `paved roles grant | revoke | list`: who holds which role where. */
export function registerRolesCommands(program: Command, context: CliContext): void {
  const roles = program
    .command('roles')
    .description('grant, revoke and list roles of users, service accounts and teams')
    .addHelpText(
      'after',
      `
Roles: on the organisation member, manager, administrator; on an app (--app) viewer,
developer, owner; on an environment type (--env-type) deployer, which production needs on top
of an app role. docs/access-control.md has the table of what each allows. An app's owners grant
and revoke its app roles; everything else needs the administrator role.

Examples:
  $ paved roles grant developer --team web --app shop
  $ paved roles grant deployer --user alice --env-type production
  $ paved roles grant manager --user bob
  $ paved roles revoke developer --team web --app shop
  $ paved roles list --app shop`,
    );

  for (const verb of ['grant', 'revoke'] as const) {
    roles
      .command(verb)
      .description(verb === 'grant' ? 'grant a role' : 'revoke a role')
      .usage('ROLE (--user NAME | --team NAME | --service-account NAME) [--app APP | --env-type TYPE]')
      .argument('<role>', 'member, manager, administrator, viewer, developer, owner or deployer')
      .option('--user <name>', 'a user')
      .option('--team <name>', 'a team: every member holds the role')
      .option('--service-account <name>', 'a service account')
      .option('--app <app>', 'an app role on this app')
      .option('--env-type <type>', 'an environment-type role on this type (deployer)')
      .addHelpText(
        'after',
        `\nExamples:\n  $ paved roles ${verb} developer --team web --app shop\n  $ paved roles ${verb} deployer --user alice --env-type production\n  $ paved roles ${verb} manager --user bob`,
      )
      .action(async (role: string, options: SubjectOptions & WhereOptions, command: Command) => {
        const input: RoleBindingInput = { role, subject: subjectOf(options, true)!, ...whereOf(options) };
        const client = await context.client(command);
        if (verb === 'grant') await client.grantRole(input);
        else await client.revokeRole(input);
        context.print(`${verb === 'grant' ? 'Granted' : 'Revoked'} ${describe(input)}.`);
      });
  }

  roles
    .command('list')
    .description('list role bindings')
    .usage(
      '[--user NAME | --team NAME | --service-account NAME] [--role ROLE] [--app APP | --env-type TYPE] [-o json|yaml|table]',
    )
    .option('--user <name>', 'only those of this user')
    .option('--team <name>', 'only those of this team')
    .option('--service-account <name>', 'only those of this service account')
    .option('--role <role>', 'only this role')
    .option('--app <app>', "only those on this app (alone: the app's members, which its owners may list)")
    .option('--env-type <type>', 'only those on this environment type')
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nExamples:\n  $ paved roles list --app shop\n  $ paved roles list --user alice -o json',
    )
    .action(
      async (
        options: SubjectOptions & WhereOptions & { role?: string; output: OutputFormat },
        command: Command,
      ) => {
        const subject = subjectOf(options, false);
        const where = whereOf(options);
        const client = await context.client(command);
        const bindings = await client.listRoleBindings({
          ...(subject === undefined ? {} : { subject }),
          ...(options.role === undefined ? {} : { role: options.role }),
          ...(where.app === undefined ? {} : { app: where.app }),
          ...(where.envType === undefined ? {} : { envType: where.envType }),
        });
        context.print(renderList(options.output, bindings, BINDINGS_VIEW));
      },
    );
}
