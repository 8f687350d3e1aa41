import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hashToken } from './tokens.js';

/** The HTTP-only cookie that carries a portal session. */
export const SESSION_COOKIE = 'paved_session';
/** A cookie the portal's scripts may read, holding the session's CSRF token (double submit). */
export const CSRF_COOKIE = 'paved_csrf';
/** The header a session-authenticated request that changes something must repeat the token in. */
export const CSRF_HEADER = 'X-CSRF-Token';
/** How long a portal session lasts, whatever happens in it. */
export const DEFAULT_SESSION_TTL_SECONDS = 12 * 3600;

/** A random secret of 256 bits, base64url: session cookies and CSRF tokens. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether `offered` is the token whose SHA-256 is `expectedHash`, in constant time. */
export function matchesHash(offered: string, expectedHash: string): boolean {
  const offeredHash = Buffer.from(hashToken(offered), 'hex');
  const expected = Buffer.from(expectedHash, 'hex');
  return offeredHash.length === expected.length && timingSafeEqual(offeredHash, expected);
}

/** The value of one cookie of a `Cookie` header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) {
      const value = part.slice(index + 1).trim();
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}

export interface CookieOptions {
  maxAgeSeconds: number;
  httpOnly: boolean;
  /** Sent only over HTTPS; set when the request came over HTTPS. */
  secure: boolean;
}

/**
 * A `Set-Cookie` value scoped to the whole server, `SameSite=Strict` so that no other site's page
 * can make the browser send it.
 */
export function setCookie(name: string, value: string, options: CookieOptions): string {
  return [
    `${name}=${value}`,
    'Path=/',
    `Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`,
    'SameSite=Strict',
    ...(options.httpOnly ? ['HttpOnly'] : []),
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}
