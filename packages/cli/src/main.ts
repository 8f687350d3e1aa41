import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { CliContext, DEFAULT_DATA_DIR, DEFAULT_URL, processIo } from './cli-context.js';
import type { CliIo } from './cli-context.js';
import { registerAdminCommands } from './commands/admin.js';
import { registerApplyCommand } from './commands/apply.js';
import { registerAppsCommands } from './commands/apps.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerDeployCommand } from './commands/deploy.js';
import { registerDeploymentsCommands } from './commands/deployments.js';
import { registerEnvsCommands } from './commands/envs.js';
import { registerExportCommand } from './commands/export.js';
import { registerLoginCommands } from './commands/login.js';
import { registerLogsCommand } from './commands/logs.js';
import { registerPromoteCommand } from './commands/promote.js';
import { registerResourcesCommands } from './commands/resources.js';
import { registerRollbackCommand } from './commands/rollback.js';
import { registerRolesCommands } from './commands/roles.js';
import { registerScoreCommands } from './commands/score.js';
import { registerServerCommand } from './commands/server.js';
import { registerGatewayCommand } from './commands/gateway.js';
import { registerStatusCommand } from './commands/status.js';
import { registerTeamsCommands } from './commands/teams.js';
import { registerTokensCommands } from './commands/tokens.js';
import { registerUsersCommands } from './commands/users.js';
import { registerTargetsCommands } from './commands/targets.js';
import { registerValuesCommands } from './commands/values.js';
import { registerWhoamiCommand } from './commands/whoami.js';
import { reportError } from './report-error.js';

/**
 * Entry point of the `paved` command: runs one command line and returns the exit code, which
 * comes from the error table (0 ok, 2 invalid input, 3 not found, 4 not allowed, 5 conflict,
 * 6 a driver, target or the server unreachable, 70 internal). It never calls `process.exit`, so
 * output is flushed and tests can call it in-process with their own `io`.
 *
 * @example
 * const code = await main(['apps', 'list', '-o', 'json']);
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const context = new CliContext(io);
  try {
    await createProgram(context).parseAsync(argv, { from: 'user' });
    return context.exitCode;
  } catch (error) {
    return reportError(error, context);
  }
}

/** The command tree; a new one per run, so nothing carries over between runs. */
export function createProgram(context: CliContext): Command {
  const program = new Command('paved');
  // Set before any subcommand is added: subcommands copy these settings when they are created.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.io.stdout.write(text),
      writeErr: (text) => context.io.stderr.write(text),
    })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(add --help for usage and examples)');

  program
    .description('Paved: a self-hosted Internal Developer Platform driven by Score files')
    .usage('NOUN VERB ARGS [FLAGS]')
    .version(version(), '-V, --version', 'print the version')
    .addOption(
      new Option('--url <url>', `the Paved server to talk to (env PAVED_URL; default ${DEFAULT_URL})`),
    )
    .addOption(
      new Option(
        '--data-dir <dir>',
        `the data directory: where "paved server" keeps its state, and whose credentials.json other commands use for the server it names (env PAVED_DATA_DIR; default ${DEFAULT_DATA_DIR})`,
      ),
    )
    .addHelpText(
      'after',
      `
Examples:
  $ npx paved server                     # in one terminal: the server, state in ./.paved
  $ paved apps create shop               # in another terminal, in the same directory
  $ paved envs create shop dev --type development
  $ paved values set shop dev LOG_LEVEL=debug
  $ paved score validate score.yaml
  $ paved deploy shop dev */score.yaml --wait
  $ paved status shop dev
  $ paved logs shop dev frontend --follow

Credentials, in order: PAVED_TOKEN; the token "paved login" saved for exactly this server URL
(~/.config/paved/credentials.json, honouring XDG_CONFIG_HOME); the data directory's
credentials.json, only when its "url" is the server the CLI talks to.

Exit codes: 0 ok, 2 invalid input, 3 not found, 4 not authenticated or not allowed, 5 conflict
(also: a followed deployment was cancelled), 6 a driver or target failed (also: a followed
deployment failed) or the server is unavailable, 70 internal error.

Read commands take -o json|yaml|table (table by default). PAVED_DEBUG=1 prints stack traces.
Run "paved COMMAND --help" for each command's flags and examples.`,
    );

  registerServerCommand(program, context);
  registerGatewayCommand(program, context);
  registerScoreCommands(program, context);
  registerAppsCommands(program, context);
  registerEnvsCommands(program, context);
  registerValuesCommands(program, context);
  registerDeployCommand(program, context);
  registerStatusCommand(program, context);
  registerLogsCommand(program, context);
  registerDeploymentsCommands(program, context);
  registerRollbackCommand(program, context);
  registerPromoteCommand(program, context);
  registerResourcesCommands(program, context);
  registerApplyCommand(program, context);
  registerExportCommand(program, context);
  registerTargetsCommands(program, context);
  registerWhoamiCommand(program, context);
  registerLoginCommands(program, context);
  registerUsersCommands(program, context);
  registerTeamsCommands(program, context);
  registerTokensCommands(program, context);
  registerRolesCommands(program, context);
  registerAuditCommands(program, context);
  registerAdminCommands(program, context);
  return program;
}

function version(): string {
  // The same file from src/ (tests) and dist/ (installed): package.json is one level up.
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}
