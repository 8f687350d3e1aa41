import type { CreatedToken, TokenInfo, TokenOwner } from '@paved/client';
import { PavedError } from '@paved/core';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { formatJson, formatYaml, outputOption, renderList } from '../output.js';
import type { ListView, OutputFormat } from '../output.js';

const TOKENS_VIEW: ListView<TokenInfo> = {
  columns: [
    { header: 'id', value: (token) => token.id },
    { header: 'name', value: (token) => token.name },
    { header: 'for', value: (token) => token.principal },
    { header: 'app', value: (token) => token.app },
    { header: 'expires', value: (token) => token.expiresAt },
    { header: 'last used', value: (token) => token.lastUsedAt },
    { header: 'revoked', value: (token) => token.revokedAt },
  ],
  empty: 'No tokens. Create one with: paved tokens create NAME',
};

interface OwnerOptions {
  for?: string;
  app?: string;
}

/**
 * Whose tokens a command is about: `--for NAME --app APP` is a service account of the app (its
 * owners manage it), `--for NAME` anyone's (administrators), neither the caller's own.
 */
function ownerOf(options: OwnerOptions): TokenOwner {
  if (options.for === undefined) return { own: true };
  if (options.app !== undefined) return { app: options.app, serviceAccount: options.for };
  return { user: options.for };
}

/** The token for people: shown this once, so it says so. */
function describeCreated(token: CreatedToken): string {
  return [
    `Created token "${token.name}" (id ${token.id}) for ${token.principal}${token.app === undefined ? '' : `, restricted to app ${token.app}`}, expiring ${token.expiresAt ?? 'never'}:`,
    '',
    `  ${token.token}`,
    '',
    'It is shown this once and stored only as a hash: keep it now (e.g. as PAVED_TOKEN in your CI secrets).',
  ].join('\n');
}

/** `paved tokens create | list | revoke`. */
export function registerTokensCommands(program: Command, context: CliContext): void {
  const tokens = program
    .command('tokens')
    .description('create, list and revoke API tokens')
    .addHelpText(
      'after',
      `
Without --for, the commands are about your own tokens. --for NAME --app APP is about a service
account of the app (its owners may); --for NAME alone about anyone's (administrators). Tokens
are shown once, stored as SHA-256 hashes, expire (90 days by default, at most 365), and a revoked
one stops working on the next request.

Examples:
  $ paved tokens create laptop --expires 30d
  $ paved tokens create ci --for shop-ci --app shop -o json
  $ paved tokens list
  $ paved tokens revoke 5f0c…`,
    );

  tokens
    .command('create')
    .description('create a token and print it, this once')
    .usage('NAME [--expires DURATION] [--app APP] [--for PRINCIPAL] [-o json|yaml|table]')
    .argument('<name>', 'a name to tell the token apart, e.g. laptop or github-actions')
    .option('--expires <duration>', 'how long it lives: <n>s|m|h|d, e.g. 30d (default 90d, at most 365d)')
    .option('--app <app>', 'restrict the token to this app (with --for: the app of the service account)')
    .option('--for <principal>', 'a service account (with --app) or, for administrators, anyone')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  $ paved tokens create laptop --expires 30d
  $ paved tokens create deploy --app shop
  $ paved tokens create github-actions --for shop-ci --app shop -o json`,
    )
    .action(
      async (
        name: string,
        options: OwnerOptions & { expires?: string; output: OutputFormat },
        command: Command,
      ) => {
        const client = await context.client(command);
        const owner = ownerOf(options);
        const created = await client.createToken(owner, {
          name,
          ...(options.expires === undefined ? {} : { expires: options.expires }),
          ...('own' in owner && options.app !== undefined ? { app: options.app } : {}),
        });
        context.print(
          options.output === 'json'
            ? formatJson(created)
            : options.output === 'yaml'
              ? formatYaml(created)
              : describeCreated(created),
        );
      },
    );

  tokens
    .command('list')
    .description('list tokens (never their secrets)')
    .usage('[--for PRINCIPAL [--app APP]] [-o json|yaml|table]')
    .option('--for <principal>', 'a service account (with --app) or, for administrators, anyone')
    .option('--app <app>', 'with --for: the app of the service account')
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nExamples:\n  $ paved tokens list\n  $ paved tokens list --for shop-ci --app shop -o json',
    )
    .action(async (options: OwnerOptions & { output: OutputFormat }, command: Command) => {
      if (options.app !== undefined && options.for === undefined) {
        throw new PavedError(
          'INVALID_INPUT',
          '--app needs --for NAME: the service account of the app whose tokens to list',
        );
      }
      const client = await context.client(command);
      context.print(renderList(options.output, await client.listTokens(ownerOf(options)), TOKENS_VIEW));
    });

  tokens
    .command('revoke')
    .description('revoke a token: it stops working on the next request')
    .usage('ID [--for PRINCIPAL [--app APP]]')
    .argument('<id>', 'the id "paved tokens list" shows')
    .option('--for <principal>', 'a service account (with --app) or, for administrators, anyone')
    .option('--app <app>', 'with --for: the app of the service account')
    .addHelpText(
      'after',
      '\nExamples:\n  $ paved tokens revoke 0b9e4c1a-…\n  $ paved tokens revoke 0b9e4c1a-… --for shop-ci --app shop',
    )
    .action(async (id: string, options: OwnerOptions, command: Command) => {
      if (options.app !== undefined && options.for === undefined) {
        throw new PavedError(
          'INVALID_INPUT',
          '--app needs --for NAME: the service account of the app whose token to revoke',
        );
      }
      const client = await context.client(command);
      await client.revokeToken(ownerOf(options), id);
      context.print(`Revoked token ${id}.`);
    });
}
