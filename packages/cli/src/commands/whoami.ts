import type { RoleBinding } from '@paved/client';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { outputOption, renderObject } from '../output.js';
import type { OutputFormat } from '../output.js';

/** `paved whoami`: who the server thinks the CLI's credential belongs to. */
export function registerWhoamiCommand(program: Command, context: CliContext): void {
  program
    .command('whoami')
    .description('show the identity and roles of the credential the CLI uses, and where it came from')
    .usage('[-o json|yaml|table]')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
The credential is, in order: PAVED_TOKEN; the one "paved login" saved for exactly this server
URL; the data directory's credentials.json when its "url" is this server. Exits 4 without a
valid credential.

Examples:
  $ paved whoami
  $ paved whoami --url http://127.0.0.1:7070 -o json
  $ PAVED_TOKEN=… paved whoami`,
    )
    .action(async (options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      const identity = await client.whoami();
      const found = context.credential?.credential;
      context.print(
        renderObject(options.output, identity, [
          ['Name', identity.name],
          ['ID', identity.id],
          ['Kind', identity.kind],
          ['Roles', identity.roles.map(describeRole)],
          ['Server', client.url],
          ['Credential', found === undefined ? undefined : (found.file ?? found.source)],
        ]),
      );
    });
}

/** `administrator on the organisation`, `deployer on app shop`, `member on env type production`. */
export function describeRole(binding: RoleBinding): string {
  const scope = binding.scope;
  switch (scope.kind) {
    case 'org':
      return `${binding.role} on the organisation`;
    case 'app':
      return `${binding.role} on app ${scope.app}`;
    case 'env-type':
      return `${binding.role} on env type ${scope.envType}`;
    default:
      // A newer server may know scopes this CLI does not; show them rather than fail.
      return `${binding.role} on ${JSON.stringify(scope)}`;
  }
}
