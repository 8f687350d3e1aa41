import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PavedError } from '@paved/core';
import type { Principal, Store } from '@paved/store';
import type { Logger } from 'pino';
import { generateToken, hashToken } from './auth/tokens.js';
import { MASTER_KEY_BYTES } from './secrets/secret-box.js';

export const MASTER_KEY_FILE = 'master.key';
export const CREDENTIALS_FILE = 'credentials.json';
export const ADMINISTRATOR_NAME = 'admin';

/** The credential file of the contracts: where the server is and a token to use it with. */
export interface Credentials {
  url: string;
  token: string;
}

/**
 * Creates the data directory with mode 0700 when it is missing. An existing directory is left
 * as it is, but a warning names it when others can read it: it holds the master key.
 */
export async function ensureDataDir(dataDir: string, logger: Logger): Promise<void> {
  const existing = await stat(dataDir).catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });
  if (existing === undefined) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // mkdir's mode is filtered by the umask; set it outright.
    await chmod(dataDir, 0o700);
    logger.info({ dataDir }, 'created the data directory');
    return;
  }
  if (!existing.isDirectory()) {
    throw new PavedError(
      'INVALID_INPUT',
      `the data directory ${dataDir} is a file; pass --data-dir a directory`,
    );
  }
  if ((existing.mode & 0o077) !== 0) {
    logger.warn(
      { dataDir, mode: (existing.mode & 0o777).toString(8) },
      'the data directory is open to other users; chmod 700 it',
    );
  }
}

/**
 * The master key that wraps the data keys of secrets: `<dataDir>/master.key`, 32 random bytes,
 * mode 0600, created on the first start. Losing it loses every secret, so it is never replaced.
 */
export async function loadOrCreateMasterKey(dataDir: string, logger: Logger): Promise<Buffer> {
  const file = join(dataDir, MASTER_KEY_FILE);
  try {
    // `wx` fails when the file exists, so two servers starting at once cannot both create one.
    await writeFile(file, randomBytes(MASTER_KEY_BYTES), { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
    logger.info({ file }, 'created the master key; back it up, secrets cannot be read without it');
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
  }
  const key = await readFile(file);
  if (key.length !== MASTER_KEY_BYTES) {
    throw new PavedError(
      'INVALID_INPUT',
      `the master key ${file} has ${key.length} bytes instead of ${MASTER_KEY_BYTES}; restore it from a backup (a new key cannot read the secrets stored so far)`,
    );
  }
  return key;
}

export interface EnsureAdministratorOptions {
  dataDir: string;
  /** The URL the server is reached at, written to the credential file. */
  url: string;
  logger: Logger;
}

export interface AdministratorBootstrap {
  /** Whether this call created the administrator (and the credential file). */
  created: boolean;
  credentialsFile: string;
}

/**
 * On the first start, creates the principal `admin` with the organisation `administrator` role
 * and a token, and writes `<dataDir>/credentials.json` (`{"url","token"}`, mode 0600). Once any
 * enabled principal holds that role, it does nothing but keep the file's `url` current, so the
 * CLI keeps finding the credential after the server moves to another port.
 */
export async function ensureAdministrator(
  store: Store,
  options: EnsureAdministratorOptions,
): Promise<AdministratorBootstrap> {
  const credentialsFile = join(options.dataDir, CREDENTIALS_FILE);
  if (await hasAdministrator(store)) {
    await refreshCredentialsUrl(credentialsFile, options.url, options.logger);
    return { created: false, credentialsFile };
  }

  const token = generateToken();
  // Written aside first and moved into place only after the database commits: a failure on
  // either side then leaves neither an administrator whose token nobody has, nor a file with a
  // token the database does not know.
  const pending = `${credentialsFile}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(
    pending,
    `${JSON.stringify({ url: options.url, token } satisfies Credentials, null, 2)}\n`,
    {
      mode: 0o600,
      flag: 'wx',
    },
  );
  try {
    await chmod(pending, 0o600);
    await store.transaction(async (tx) => {
      const admin =
        (await tx.principals.findByName(ADMINISTRATOR_NAME)) ??
        (await tx.principals.create({ id: randomUUID(), kind: 'user', name: ADMINISTRATOR_NAME }));
      await tx.grants.grant({ subject: admin.id, role: 'administrator', scope: { kind: 'org' } });
      await tx.tokens.create({
        id: randomUUID(),
        principalId: admin.id,
        name: 'first-start',
        hash: hashToken(token),
      });
    });
    await rename(pending, credentialsFile);
  } catch (error) {
    await rm(pending, { force: true });
    throw error;
  }
  options.logger.info(
    { principal: ADMINISTRATOR_NAME, credentialsFile },
    'created the administrator; its token is in the credential file',
  );
  return { created: true, credentialsFile };
}

async function hasAdministrator(store: Store): Promise<boolean> {
  let after: string | undefined;
  do {
    const page = await store.principals.list(after === undefined ? { limit: 500 } : { after, limit: 500 });
    const enabled = new Map<string, Principal>(
      page.items.filter((principal) => !principal.disabled).map((principal) => [principal.id, principal]),
    );
    if (enabled.size > 0) {
      const grants = await store.grants.listFor([...enabled.keys()]);
      if (grants.some((grant) => grant.role === 'administrator' && grant.scope.kind === 'org')) return true;
    }
    after = page.next ?? undefined;
  } while (after !== undefined);
  return false;
}

async function refreshCredentialsUrl(file: string, url: string, logger: Logger): Promise<void> {
  let credentials: Partial<Credentials>;
  try {
    credentials = JSON.parse(await readFile(file, 'utf8')) as Partial<Credentials>;
  } catch {
    // Missing or unreadable: the token was shown once and is not ours to recreate.
    return;
  }
  if (typeof credentials.token !== 'string' || credentials.url === url) return;
  const pending = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(
    pending,
    `${JSON.stringify({ url, token: credentials.token } satisfies Credentials, null, 2)}\n`,
    {
      mode: 0o600,
      flag: 'wx',
    },
  );
  await chmod(pending, 0o600);
  await rename(pending, file);
  logger.info({ credentialsFile: file, url }, 'updated the URL in the credential file');
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}
