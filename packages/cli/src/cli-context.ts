import { resolve } from 'node:path';
import { PavedClient, normaliseServerUrl, resolveCredential } from '@paved/client';
import type { CredentialResolution } from '@paved/client';
import { PavedError } from '@paved/core';
import type { Command } from 'commander';

export const DEFAULT_URL = 'http://127.0.0.1:7070';
export const DEFAULT_DATA_DIR = './.paved';

/** Where the CLI reads and writes; the process's by default, replaced in tests. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  /** Progress displays redraw in place when it is a terminal (`isTTY`), `columns` wide. */
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  env: Record<string, string | undefined>;
  cwd: string;
  /** Handed to the API client; the global fetch when absent. */
  fetch?: typeof globalThis.fetch;
  /** For the `paved login` credential file; `HOME` / `os.homedir()` when absent. */
  homeDir?: string;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** The global flags, after their environment fallbacks and defaults. */
export interface GlobalOptions {
  url: string;
  /** Absolute. */
  dataDir: string;
}

/**
 * What one run of `main` shares between the commands and the top-level error handler: the I/O,
 * the exit code a command chose without failing, and how the credential was found (so that a
 * `401` can say why no token was sent).
 */
export class CliContext {
  readonly io: CliIo;
  /** Set by commands that report a failure without throwing (e.g. `score validate`). */
  exitCode = 0;
  credential: CredentialResolution | undefined;

  constructor(io: CliIo) {
    this.io = io;
  }

  /** Writes a line (or several) to stdout. */
  print(text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Writes a line (or several) to stderr. */
  printError(text: string): void {
    this.io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  globalOptions(command: Command): GlobalOptions {
    const options = command.optsWithGlobals<{ url?: string; dataDir?: string }>();
    const url = options.url ?? nonEmpty(this.io.env.PAVED_URL) ?? DEFAULT_URL;
    const dataDir = options.dataDir ?? nonEmpty(this.io.env.PAVED_DATA_DIR) ?? DEFAULT_DATA_DIR;
    return { url, dataDir: resolve(this.io.cwd, dataDir) };
  }

  /** An API client for the server of the global flags, with the credential for exactly that URL. */
  async client(command: Command): Promise<PavedClient> {
    const { url, dataDir } = this.globalOptions(command);
    let serverUrl: string;
    try {
      serverUrl = normaliseServerUrl(url);
    } catch (error) {
      const from = command.optsWithGlobals<{ url?: string }>().url === undefined ? 'PAVED_URL' : '--url';
      throw new PavedError(
        'INVALID_INPUT',
        `${from} "${url}" is not a server URL: give one like ${DEFAULT_URL}`,
        { cause: error },
      );
    }
    this.credential = await resolveCredential({
      serverUrl,
      dataDir,
      env: this.io.env,
      ...(this.io.homeDir === undefined ? {} : { homeDir: this.io.homeDir }),
    });
    return new PavedClient({
      url: serverUrl,
      ...(this.credential.credential === undefined ? {} : { token: this.credential.credential.token }),
      ...(this.io.fetch === undefined ? {} : { fetch: this.io.fetch }),
    });
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
