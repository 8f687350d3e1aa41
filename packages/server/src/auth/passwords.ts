import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { PavedError } from '@paved/core';

/**
 * scrypt parameters for new hashes: N = 2^15, r = 8, p = 3 — one of the OWASP-recommended
 * settings (32 MiB and about a tenth of a second per hash here). Each hash records its own
 * parameters, so raising them later leaves existing hashes verifiable.
 */
const COST = 2 ** 15;
const BLOCK_SIZE = 8;
const PARALLELISM = 3;
const KEY_LENGTH = 32;
const SALT_BYTES = 16;
/** The largest cost a stored hash may ask for, so a forged hash cannot make verifying explode. */
const MAX_COST = 2 ** 20;

export const MIN_PASSWORD_LENGTH = 12;
/** Long enough for any passphrase; short enough that hashing it costs nothing extra. */
export const MAX_PASSWORD_LENGTH = 256;

/** Why a password is not acceptable, or undefined when it is. Never quotes the password. */
export function passwordProblem(password: string): string | undefined {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) {
    return `a password needs at least ${MIN_PASSWORD_LENGTH} characters (this one has ${length}); a few words make a good one`;
  }
  if (length > MAX_PASSWORD_LENGTH) return `a password has at most ${MAX_PASSWORD_LENGTH} characters`;
  return undefined;
}

/**
 * Hashes a password with scrypt and a random per-user salt, as
 * `scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>`.
 *
 * @example
 * const stored = await hashPassword('correct horse battery staple');
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, { N: COST, r: BLOCK_SIZE, p: PARALLELISM });
  return [
    'scrypt',
    COST,
    BLOCK_SIZE,
    PARALLELISM,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

/**
 * Whether `password` matches `stored`, compared in constant time. A missing hash (an unknown
 * user, a user without a password) is checked against a dummy hash, so that the answer takes as
 * long as for a real user and does not tell which names exist.
 */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const parsed = stored === undefined ? undefined : parseHash(stored);
  const against = parsed ?? (await dummyHash());
  const key = await derive(password, against.salt, against.options, against.key.length);
  return timingSafeEqual(key, against.key) && parsed !== undefined;
}

interface ParsedHash {
  options: Required<Pick<ScryptOptions, 'N' | 'r' | 'p'>>;
  salt: Buffer;
  key: Buffer;
}

function parseHash(stored: string): ParsedHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const valid =
    Number.isInteger(N) &&
    N > 1 &&
    N <= MAX_COST &&
    (N & (N - 1)) === 0 &&
    Number.isInteger(r) &&
    r >= 1 &&
    r <= 32 &&
    Number.isInteger(p) &&
    p >= 1 &&
    p <= 16;
  if (!valid) return undefined;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const key = Buffer.from(parts[5] ?? '', 'base64url');
  if (salt.length === 0 || key.length < 16) return undefined;
  return { options: { N, r, p }, salt, key };
}

let dummy: Promise<ParsedHash> | undefined;

function dummyHash(): Promise<ParsedHash> {
  dummy ??= hashPassword(randomBytes(16).toString('hex')).then((hash) => parseHash(hash)!);
  return dummy;
}

function derive(
  password: string,
  salt: Buffer,
  options: Required<Pick<ScryptOptions, 'N' | 'r' | 'p'>>,
  length = KEY_LENGTH,
): Promise<Buffer> {
  // scrypt needs 128 * N * r bytes; Node refuses more than maxmem, 32 MiB by default.
  const maxmem = 128 * options.N * options.r * 2;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, { ...options, maxmem }, (error, key) => {
      if (error === null) resolve(key);
      else
        reject(
          new PavedError('INTERNAL', `cannot hash the password: ${error.message}`, {
            cause: error,
          }),
        );
    });
  });
}
