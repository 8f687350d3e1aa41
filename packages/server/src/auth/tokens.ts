import { createHash, randomBytes } from 'node:crypto';

/** Every Paved token starts with this, so secret scanners and people can recognise one. */
export const TOKEN_PREFIX = 'paved_';

/** A new token: 32 random bytes (256 bits), base64url, prefixed. Shown once, stored only hashed. */
export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** The SHA-256 of a token, hex: what the store keeps and looks tokens up by. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
