/**
 * Names Paved creates on shared servers (databases, roles, users, vhosts, key prefixes):
 * `paved_<app>_<env>_<resource>_<hash>`, the readable part sanitised to lower-case letters, digits
 * and `_`, and shortened to the server's identifier limit.
 *
 * The hash is always there: sanitising is lossy (`my-app`/`dev` and `my`/`app-dev` both read
 * `my_app_dev`, and `é`, `e` and `É` all read `e`), so without it two resources of different
 * environments could be handed the same database. It is taken over the exact app, environment,
 * type, class and id, so it tells apart what the readable part cannot.
 */
import { createHash } from 'node:crypto';
import { PavedError } from '@paved/core';

/** The identifier limits of the servers the drivers provision on. */
export const SHARED_NAME_LIMITS = {
  /** NAMEDATALEN − 1: databases and roles; PostgreSQL counts bytes, ours are ASCII. */
  postgres: 63,
  mysqlDatabase: 64,
  /** MariaDB 10.0–10.5 (10.6+ allows 128). */
  mariadbUser: 80,
  /** MySQL 5.7 and later. */
  mysqlUser: 32,
  /** Redis has no limit; this keeps user names and key prefixes readable. */
  redis: 128,
  rabbitmq: 255,
} as const;

/** Characters of the hash: 10 of base32, 50 bits. */
export const SHARED_NAME_HASH_LENGTH = 10;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const PREFIX = 'paved';

/** Every name this module makes matches this, and so needs no quoting anywhere — it is quoted anyway. */
export const SHARED_NAME_PATTERN = /^paved_[a-z0-9_]*[a-z0-9]$/;

/** What a shared name is made of: the resource and where it is provisioned. */
export interface SharedNameSource {
  app: string;
  env: string;
  resource: { type: string; class: string; id: string };
}

function base32(bytes: Uint8Array, length: number): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
    if (out.length >= length) break;
  }
  return out;
}

/** Lower-case ASCII letters and digits, every other run one `_`; accents dropped (`é` → `e`). */
export function sanitizeNamePart(text: string): string {
  return (
    text
      .normalize('NFKD')
      .replace(/\p{M}+/gu, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'x'
  );
}

function checkPart(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new PavedError(
      'INVALID_INPUT',
      `cannot name a resource on a shared server: its ${what} is ${value === '' ? 'empty' : 'missing'}; this is a bug in the caller of the driver`,
      { details: { part: what } },
    );
  }
  return value;
}

/**
 * The name of a resource on a shared server, at most `maxLength` characters with `suffix`
 * (e.g. `_1` for a login of the resource) appended after the hash. Deterministic: the same
 * resource always gets the same name.
 *
 * @example
 * sharedName({ app: 'shop', env: 'dev', resource: { type: 'postgres', class: 'default', id: 'orders.db' } }, 63)
 * // 'paved_shop_dev_orders_db_' + 10 characters of hash
 */
export function sharedName(source: SharedNameSource, maxLength: number, suffix = ''): string {
  const app = checkPart('app', source.app);
  const env = checkPart('environment', source.env);
  const type = checkPart('type', source.resource.type);
  const cls = checkPart('class', source.resource.class);
  const id = checkPart('id', source.resource.id);
  if (suffix !== '' && !/^_[a-z0-9]+$/.test(suffix)) {
    throw new PavedError('INTERNAL', `shared name suffix "${suffix}" must be "_" and letters or digits`);
  }
  const digest = createHash('sha256')
    .update(JSON.stringify([app, env, type, cls, id]))
    .digest();
  const tail = `_${base32(digest, SHARED_NAME_HASH_LENGTH)}${suffix}`;
  const room = maxLength - tail.length;
  if (room < PREFIX.length + 2) {
    throw new PavedError(
      'INTERNAL',
      `a shared name cannot fit in ${maxLength} characters with suffix "${suffix}"`,
    );
  }
  const readable = [PREFIX, app, env, id].map(sanitizeNamePart).join('_');
  const name = `${readable.slice(0, room).replace(/_+$/, '')}${tail}`;
  return checkSharedName(name, maxLength, 'generated name');
}

/**
 * Checks a name before it reaches a server: one this module made, possibly read back from stored
 * driver state. Anything else is refused, so stored state cannot smuggle SQL or patterns in.
 */
export function checkSharedName(name: unknown, maxLength: number, what: string): string {
  if (typeof name === 'string' && name.length <= maxLength && SHARED_NAME_PATTERN.test(name)) return name;
  throw new PavedError(
    'INVALID_INPUT',
    `${what} ${JSON.stringify(name)} is not a name Paved makes (paved_ and lower-case letters, digits and _, at most ${maxLength} characters): ` +
      `the resource's stored state was changed outside Paved; delete the active resource's state or restore it`,
    { details: { what } },
  );
}
