import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { PavedError } from '@paved/core';
import { normaliseServerUrl, sameServerUrl } from './server-url.js';

/** Where a token came from, in the order they are tried. */
export type CredentialSource = 'PAVED_TOKEN' | 'login' | 'data-dir';

export interface Credential {
  token: string;
  source: CredentialSource;
  /** The file the token was read from (not for `PAVED_TOKEN`). */
  file?: string;
}

export interface CredentialResolution {
  /** The server URL the credential is for, normalised. */
  serverUrl: string;
  credential?: Credential;
  /**
   * Why a credential file that exists was not used (another server's, unreadable, malformed), so
   * that a `401` can tell the user what to do instead of just "no token".
   */
  notes: string[];
}

/** A credential file as read from disk: `content` is the parsed JSON, or the reason it is unusable. */
export type CredentialFile =
  { path: string; content: unknown } | { path: string; problem: string } | { path: string; missing: true };

export interface CredentialInputs {
  serverUrl: string;
  /** The value of `PAVED_TOKEN`; an empty string counts as unset. */
  envToken?: string;
  /** `credentials.json` of `paved login`: `{ "<server url>": "<token>", … }`. */
  login?: CredentialFile;
  /** `<data dir>/credentials.json` written by the server's first start: `{ "url", "token" }`. */
  dataDir?: CredentialFile;
}

/**
 * Picks the credential for a server, without touching the disk: `PAVED_TOKEN`; else the token that
 * `paved login` saved for exactly this server URL; else the data directory's credential file, but
 * only when its `url` names this same server. A token is never handed to a server it was not
 * issued for, so pointing the CLI at another URL cannot leak the local administrator's token.
 *
 * @example
 * pickCredential({
 *   serverUrl: 'http://127.0.0.1:7070',
 *   dataDir: { path: '.paved/credentials.json', content: { url: 'http://127.0.0.1:7070/', token: 't' } },
 * }); // { credential: { token: 't', source: 'data-dir', file: '.paved/credentials.json' }, … }
 */
export function pickCredential(inputs: CredentialInputs): CredentialResolution {
  const serverUrl = normaliseServerUrl(inputs.serverUrl);
  const notes: string[] = [];
  if (inputs.envToken !== undefined && inputs.envToken !== '') {
    return { serverUrl, credential: { token: inputs.envToken, source: 'PAVED_TOKEN' }, notes };
  }

  const login = usableContent(inputs.login, notes);
  if (login !== undefined) {
    const token = loginToken(login.content, serverUrl);
    if (token !== undefined) {
      return { serverUrl, credential: { token, source: 'login', file: login.path }, notes };
    }
    if (!isRecord(login.content))
      notes.push(`${login.path} is not a JSON object of server URL → token; ignored`);
  }

  const dataDir = usableContent(inputs.dataDir, notes);
  if (dataDir !== undefined) {
    const content = dataDir.content;
    if (!isRecord(content) || typeof content.url !== 'string' || typeof content.token !== 'string') {
      notes.push(`${dataDir.path} does not hold {"url","token"}; ignored`);
    } else if (!sameServerUrl(content.url, serverUrl)) {
      notes.push(
        `${dataDir.path} is for ${content.url}, not ${serverUrl}; a credential file is only sent to the server it was issued for`,
      );
    } else {
      return {
        serverUrl,
        credential: { token: content.token, source: 'data-dir', file: dataDir.path },
        notes,
      };
    }
  }
  return { serverUrl, notes };
}

export interface ResolveCredentialOptions {
  serverUrl: string;
  /** The data directory (`--data-dir`, `PAVED_DATA_DIR`, `./.paved`), resolved against the cwd. */
  dataDir: string;
  /** Defaults to `process.env`; read for `PAVED_TOKEN`, `XDG_CONFIG_HOME` and `HOME`. */
  env?: Record<string, string | undefined>;
  /** Defaults to `os.homedir()`. */
  homeDir?: string;
}

/**
 * Finds the token to send to a server (see {@link pickCredential} for the order), reading the
 * credential files only when the sources before them gave nothing.
 *
 * @example
 * const { credential } = await resolveCredential({ serverUrl: 'http://127.0.0.1:7070', dataDir: '.paved' });
 * const client = new PavedClient({ url: 'http://127.0.0.1:7070', token: credential?.token });
 */
export async function resolveCredential(options: ResolveCredentialOptions): Promise<CredentialResolution> {
  const env = options.env ?? process.env;
  const envToken = env.PAVED_TOKEN;
  if (envToken !== undefined && envToken !== '') {
    return pickCredential({ serverUrl: options.serverUrl, envToken });
  }
  const login = await readCredentialFile(loginCredentialsPath(env, options.homeDir));
  const fromLogin = pickCredential({ serverUrl: options.serverUrl, login });
  if (fromLogin.credential !== undefined) return fromLogin;
  const dataDir = await readCredentialFile(dataDirCredentialsPath(options.dataDir));
  return pickCredential({ serverUrl: options.serverUrl, login, dataDir });
}

/**
 * The file `paved login` keeps its tokens in: `$XDG_CONFIG_HOME/paved/credentials.json`, else
 * `~/.config/paved/credentials.json`. A relative `XDG_CONFIG_HOME` is ignored, as the XDG base
 * directory specification asks.
 */
export function loginCredentialsPath(
  env: Record<string, string | undefined> = process.env,
  homeDir: string = env.HOME ?? homedir(),
): string {
  const xdg = env.XDG_CONFIG_HOME;
  const configHome = xdg !== undefined && xdg !== '' && isAbsolute(xdg) ? xdg : join(homeDir, '.config');
  return join(configHome, 'paved', 'credentials.json');
}

/** The credential file the server writes on its first start. */
export function dataDirCredentialsPath(dataDir: string): string {
  return join(resolve(dataDir), 'credentials.json');
}

/** Reads and parses a credential file; never throws, because a broken file is a note, not a crash. */
export async function readCredentialFile(path: string): Promise<CredentialFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { path, missing: true };
    return { path, problem: `cannot be read (${code ?? String(error)})` };
  }
  try {
    return { path, content: JSON.parse(text) as unknown };
  } catch {
    return { path, problem: 'is not valid JSON' };
  }
}

function usableContent(
  file: CredentialFile | undefined,
  notes: string[],
): { path: string; content: unknown } | undefined {
  if (file === undefined || 'missing' in file) return undefined;
  if ('problem' in file) {
    notes.push(`${file.path} ${file.problem}; ignored`);
    return undefined;
  }
  return file;
}

function loginToken(content: unknown, serverUrl: string): string | undefined {
  if (!isRecord(content)) return undefined;
  for (const [url, token] of Object.entries(content)) {
    if (typeof token === 'string' && token !== '' && sameServerUrl(url, serverUrl)) return token;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Saves `token` for `serverUrl` in the file `paved login` keeps its tokens in (a JSON object of
 * server URL → token), replacing the one saved for the same server. The file is written aside and
 * moved into place, mode 0600, in a directory of mode 0700.
 *
 * @example
 * await saveLoginCredential(loginCredentialsPath(), 'http://127.0.0.1:7070', token);
 */
export async function saveLoginCredential(path: string, serverUrl: string, token: string): Promise<void> {
  const tokens = await loginTokens(path);
  for (const url of Object.keys(tokens)) if (sameServerUrl(url, serverUrl)) delete tokens[url];
  tokens[normaliseServerUrl(serverUrl)] = token;
  await writeLoginTokens(path, tokens);
}

/**
 * Forgets the token saved for `serverUrl`, returning it (to revoke it) or undefined when there
 * was none.
 */
export async function removeLoginCredential(path: string, serverUrl: string): Promise<string | undefined> {
  const tokens = await loginTokens(path);
  let removed: string | undefined;
  for (const [url, token] of Object.entries(tokens)) {
    if (!sameServerUrl(url, serverUrl)) continue;
    removed = typeof token === 'string' ? token : undefined;
    delete tokens[url];
  }
  if (removed !== undefined) await writeLoginTokens(path, tokens);
  return removed;
}

async function loginTokens(path: string): Promise<Record<string, unknown>> {
  const file = await readCredentialFile(path);
  if ('missing' in file) return {};
  if ('problem' in file || !isRecord(file.content)) {
    throw new PavedError(
      'INVALID_INPUT',
      `${path} ${'problem' in file ? file.problem : 'is not a JSON object of server URL → token'}; fix or remove it, then log in again`,
    );
  }
  return { ...file.content };
}

async function writeLoginTokens(path: string, tokens: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const pending = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(pending, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(pending, 0o600);
  await rename(pending, path);
}
