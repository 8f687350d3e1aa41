import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { PavedError } from '@paved/core';

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677, PostgreSQL's
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`). Sending it in `CREATE ROLE …
 * PASSWORD` instead of the password itself keeps the password out of the server's statement log,
 * as `psql`'s `\password` does.
 *
 * Only for ASCII passwords (what `generatePassword` makes), which SASLprep leaves unchanged.
 */
export function scramSha256Verifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  if (!/^[\x20-\x7e]+$/.test(password)) {
    throw new PavedError('INTERNAL', 'a SCRAM verifier is made here only for printable ASCII passwords');
  }
  const keys = scramKeys(password, salt, iterations);
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${keys.storedKey.toString('base64')}:${keys.serverKey.toString('base64')}`;
}

/** StoredKey and ServerKey of a password with a salt and an iteration count. */
export function scramKeys(
  password: string,
  salt: Buffer,
  iterations: number,
): { storedKey: Buffer; serverKey: Buffer } {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  return {
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: createHmac('sha256', salted).update('Server Key').digest(),
  };
}
