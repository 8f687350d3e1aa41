import type { RoleBindingView, User } from '@paved/client';
import { Option, type Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { outputOption, renderList, renderObject } from '../output.js';
import type { ListView, OutputFormat } from '../output.js';
import { readPassword, type PasswordOptions } from './login.js';

const USERS_VIEW: ListView<User> = {
  columns: [
    { header: 'name', value: (user) => user.name },
    { header: 'kind', value: (user) => user.kind },
    { header: 'app', value: (user) => user.app },
    { header: 'disabled', value: (user) => user.disabled },
    { header: 'password', value: (user) => (user.kind === 'user' ? user.hasPassword : undefined) },
    { header: 'created', value: (user) => user.createdAt },
  ],
  empty: 'No users yet. Create one with: paved users create NAME',
};

/** `developer on app shop`, `member on the organisation`, `deployer on env type production`. */
export function describeBinding(binding: RoleBindingView): string {
  const scope = binding.scope;
  switch (scope.kind) {
    case 'org':
      return `${binding.role} on the organisation`;
    case 'app':
      return `${binding.role} on app ${scope.app}`;
    case 'env-type':
      return `${binding.role} on env type ${scope.envType}`;
    default:
      return `${binding.role} on ${JSON.stringify(scope)}`;
  }
}

function userFields(user: User): Array<readonly [string, unknown]> {
  return [
    ['Name', user.name],
    ['Kind', user.kind],
    ['ID', user.id],
    ['App', user.app],
    ['Disabled', user.disabled],
    ['Password', user.kind === 'user' ? (user.hasPassword ? 'set' : 'none') : undefined],
    ['Teams', user.teams],
    ['Roles', user.roles?.map(describeBinding)],
    ['Created', user.createdAt],
  ];
}

interface CreateOptions extends PasswordOptions {
  serviceAccount?: boolean;
  app?: string;
  role?: string;
  team: string[];
  noPassword?: boolean;
}

/** `paved users create | list | get | set-password | disable | enable`. */
export function registerUsersCommands(program: Command, context: CliContext): void {
  const users = program
    .command('users')
    .description('create, list and change users and service accounts')
    .addHelpText(
      'after',
      `
Users log in with a password (paved login); service accounts are machine users for CI, which
use tokens only (paved tokens create --for NAME). Managing users needs the organisation
administrator role; an app's owners manage the app's own service accounts (--app).

Examples:
  $ paved users create alice --team web
  $ paved users create ci-bot --service-account --app shop --role developer
  $ paved users list -o json
  $ paved users disable alice`,
    );

  users
    .command('create')
    .description('create a user or a service account')
    .usage(
      'NAME [--service-account [--app APP]] [--role ROLE] [--team TEAM]… [--password-file FILE | --no-password]',
    )
    .argument('<name>', 'lower-case letters, digits, ".", "_", "@" and "-"')
    .option('--service-account', 'a machine user: logs in with tokens only')
    .option('--app <app>', 'with --service-account: the app it belongs to (its owners manage it)')
    .option(
      '--role <role>',
      'organisation role (member, manager, administrator; default member for users); with --app, an app role (viewer, developer, owner) on that app',
    )
    .addOption(
      new Option('--team <team>', 'a team to add it to (repeatable)')
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([]),
    )
    .option('--password-file <file>', "a user's password, read from a file (else PAVED_PASSWORD, else typed)")
    .option('--no-password', 'a user without a password: it can only use tokens an administrator creates')
    .addHelpText(
      'after',
      `
Exits 5 if the name is taken, 2 if it or the password is not acceptable (passwords have at least
12 characters).

Examples:
  $ paved users create alice --team web --password-file alice.pw
  $ paved users create bob --role manager --no-password
  $ paved users create deploy-bot --service-account --role administrator
  $ paved users create shop-ci --service-account --app shop --role developer`,
    )
    .action(async (name: string, options: CreateOptions & { password?: boolean }, command: Command) => {
      const serviceAccount = options.serviceAccount === true;
      const wantsPassword = !serviceAccount && options.password !== false;
      const password = wantsPassword
        ? await readPassword(context, options, `password for ${name}`)
        : undefined;
      const client = await context.client(command);
      const user = await client.createUser({
        name,
        kind: serviceAccount ? 'service-account' : 'user',
        ...(password === undefined ? {} : { password }),
        ...(options.role === undefined ? {} : { role: options.role }),
        ...(options.app === undefined ? {} : { app: options.app }),
        ...(options.team.length === 0 ? {} : { teams: options.team }),
      });
      context.print(
        `Created ${user.kind === 'user' ? 'user' : 'service account'} "${user.name}"${user.app === undefined ? '' : ` of app ${user.app}`}${(user.roles ?? []).length === 0 ? '' : ` with ${(user.roles ?? []).map(describeBinding).join(', ')}`}.`,
      );
    });

  users
    .command('list')
    .description('list users and service accounts')
    .usage('[--service-accounts] [--app APP] [-o json|yaml|table]')
    .option('--service-accounts', 'only service accounts')
    .option('--app <app>', "only the app's service accounts (its owners may list them)")
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  $ paved users list
  $ paved users list --app shop -o json`,
    )
    .action(
      async (
        options: { serviceAccounts?: boolean; app?: string; output: OutputFormat },
        command: Command,
      ) => {
        const client = await context.client(command);
        const list = await client.listUsers({
          ...(options.serviceAccounts === true ? { kind: 'service-account' as const } : {}),
          ...(options.app === undefined ? {} : { app: options.app }),
        });
        context.print(renderList(options.output, list, USERS_VIEW));
      },
    );

  users
    .command('get')
    .description('show a user or service account with its teams and roles')
    .usage('NAME [-o json|yaml|table]')
    .argument('<name>', 'the user or service account')
    .addOption(outputOption())
    .addHelpText('after', `\nExamples:\n  $ paved users get alice\n  $ paved users get shop-ci -o json`)
    .action(async (name: string, options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      const user = await client.getUser(name);
      context.print(renderObject(options.output, user, userFields(user)));
    });

  users
    .command('set-password')
    .description("set a user's password (an administrator resetting it), or remove it")
    .usage('NAME [--password-file FILE | --remove]')
    .argument('<name>', 'the user')
    .option('--password-file <file>', 'read the new password from a file (else PAVED_PASSWORD, else typed)')
    .option('--remove', 'remove the password: the user can then only use tokens')
    .addHelpText(
      'after',
      `
Ends the user's portal sessions and lifts a login lockout of the name. To change your own
password, the server's PUT /api/v1/whoami/password asks for the current one.

Examples:
  $ paved users set-password alice --password-file new.pw
  $ paved users set-password bob --remove`,
    )
    .action(async (name: string, options: PasswordOptions & { remove?: boolean }, command: Command) => {
      const password =
        options.remove === true ? null : await readPassword(context, options, `new password for ${name}`);
      const client = await context.client(command);
      await client.updateUser(name, { password });
      context.print(
        password === null ? `Removed the password of "${name}".` : `Set the password of "${name}".`,
      );
    });

  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    users
      .command(verb)
      .description(
        disabled
          ? 'disable a user or service account: its tokens and sessions stop working on the next request'
          : 'enable a disabled user or service account again',
      )
      .usage(`NAME [--app APP]`)
      .argument('<name>', 'the user or service account')
      .option('--app <app>', 'a service account of this app (its owners may disable it)')
      .addHelpText(
        'after',
        `\nExamples:\n  $ paved users ${verb} alice\n  $ paved users ${verb} shop-ci${disabled ? ' --app shop' : ''}`,
      )
      .action(async (name: string, options: { app?: string }, command: Command) => {
        const client = await context.client(command);
        if (disabled && options.app !== undefined) await client.disableServiceAccount(options.app, name);
        else await client.updateUser(name, { disabled });
        context.print(`${disabled ? 'Disabled' : 'Enabled'} "${name}".`);
      });
  }
}
