import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  PavedClient,
  loginCredentialsPath,
  normaliseServerUrl,
  pickCredential,
  readCredentialFile,
  removeLoginCredential,
  saveLoginCredential,
} from '@paved/client';
import { PavedError } from '@paved/core';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';

export interface PasswordOptions {
  passwordFile?: string;
}

/**
 * A password for `purpose`: from `--password-file FILE` (one trailing newline removed), else
 * `PAVED_PASSWORD`, else typed at the terminal without echo. Never from a command-line argument,
 * which other users of the machine can see.
 */
export async function readPassword(
  context: CliContext,
  options: PasswordOptions,
  purpose: string,
): Promise<string> {
  if (options.passwordFile !== undefined) {
    const path = resolve(context.io.cwd, options.passwordFile);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new PavedError(
        'INVALID_INPUT',
        `cannot read the password file ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        { cause: error },
      );
    }
    return text.replace(/\r?\n$/, '');
  }
  const fromEnv = context.io.env.PAVED_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (process.stdin.isTTY === true && context.io.stderr.isTTY === true)
    return prompt(context, `${purpose}: `);
  throw new PavedError(
    'INVALID_INPUT',
    `no password for ${purpose}: give --password-file FILE, set PAVED_PASSWORD, or run it at a terminal to type it`,
  );
}

/** Reads a line from the terminal without echoing it. */
function prompt(context: CliContext, question: string): Promise<string> {
  const stdin = process.stdin;
  context.io.stderr.write(question);
  return new Promise((done, fail) => {
    let typed = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const finish = (error?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      context.io.stderr.write('\n');
      if (error === undefined) done(typed);
      else fail(error);
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003')
          return finish(new PavedError('INVALID_INPUT', 'interrupted; nothing was done'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    stdin.on('data', onData);
  });
}

/** `paved login [URL]` and `paved logout [URL]`. */
export function registerLoginCommands(program: Command, context: CliContext): void {
  program
    .command('login')
    .description('log in with a user name and password; the token is saved for this server')
    .usage('[URL] [--user NAME] [--password-file FILE] [--expires DURATION]')
    .argument('[url]', 'the server (default: --url, PAVED_URL, http://127.0.0.1:7070)')
    .option('--user <name>', 'your user name (default: PAVED_USER, else $USER)')
    .option('--password-file <file>', 'read the password from a file instead of typing it')
    .option('--expires <duration>', 'how long the token lives, e.g. 7d (default 30d, at most 365d)')
    .addHelpText(
      'after',
      `
The password is read from --password-file, else PAVED_PASSWORD, else typed at the terminal; it
is never a command-line argument. The server answers with a personal token, which is saved for
exactly this server URL in $XDG_CONFIG_HOME/paved/credentials.json (else
~/.config/paved/credentials.json, mode 0600) and used by every later command for that server.
After 5 wrong passwords within 15 minutes the name is locked for 15 minutes (exit 4).

Examples:
  $ paved login https://paved.example.com --user alice
  $ PAVED_PASSWORD=… paved login --user ci-admin --expires 1d`,
    )
    .action(
      async (
        url: string | undefined,
        options: { user?: string; passwordFile?: string; expires?: string },
        command: Command,
      ) => {
        const serverUrl = normaliseServerUrl(url ?? context.globalOptions(command).url);
        const name = options.user ?? context.io.env.PAVED_USER ?? context.io.env.USER;
        if (name === undefined || name === '') {
          throw new PavedError('INVALID_INPUT', 'whose login? give --user NAME (or set PAVED_USER)');
        }
        const password = await readPassword(context, options, `password of ${name} on ${serverUrl}`);
        const client = new PavedClient({
          url: serverUrl,
          ...(context.io.fetch === undefined ? {} : { fetch: context.io.fetch }),
        });
        const result = await client.login(name, password, {
          ...(options.expires === undefined ? {} : { expires: options.expires }),
        });
        const file = loginCredentialsPath(context.io.env, context.io.homeDir);
        await saveLoginCredential(file, serverUrl, result.token);
        context.print(
          `Logged in to ${serverUrl} as ${result.user.name}. The token (expires ${result.expiresAt ?? 'never'}) is saved in ${file}.`,
        );
      },
    );

  program
    .command('logout')
    .description('revoke the token "paved login" saved for this server, and forget it')
    .usage('[URL]')
    .argument('[url]', 'the server (default: --url, PAVED_URL, http://127.0.0.1:7070)')
    .addHelpText(
      'after',
      `
Examples:
  $ paved logout
  $ paved logout https://paved.example.com`,
    )
    .action(async (url: string | undefined, _options: unknown, command: Command) => {
      const serverUrl = normaliseServerUrl(url ?? context.globalOptions(command).url);
      const file = loginCredentialsPath(context.io.env, context.io.homeDir);
      const token = pickCredential({ serverUrl, login: await readCredentialFile(file) }).credential?.token;
      if (token === undefined) {
        context.print(`Not logged in to ${serverUrl}: ${file} has no token for it.`);
        return;
      }
      const client = new PavedClient({
        url: serverUrl,
        token,
        ...(context.io.fetch === undefined ? {} : { fetch: context.io.fetch }),
      });
      let note = 'the token is revoked and forgotten';
      try {
        await client.logout();
      } catch (error) {
        // Expired or revoked already: forgetting it is all there is to do. Anything else (the
        // server unreachable) keeps it, so that logging out can be tried again.
        if (!(error instanceof PavedError && error.code === 'UNAUTHENTICATED')) throw error;
        note = 'the token was no longer valid and is forgotten';
      }
      await removeLoginCredential(file, serverUrl);
      context.print(`Logged out of ${serverUrl}: ${note}.`);
    });
}
