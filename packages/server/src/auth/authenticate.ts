import { PavedError, type Clock } from '@paved/core';
import type { Store } from '@paved/store';
import type { AuthenticatedPrincipal } from './authenticated-principal.js';
import { hashToken } from './tokens.js';

const BEARER = /^Bearer[ ]+([A-Za-z0-9._~+/=-]{1,512})[ ]*$/i;

/**
 * Establishes who sent a request from its `Authorization: Bearer <token>` header. The token is
 * looked up by its SHA-256 on every request, without a cache, so that revoking a token or
 * disabling its principal takes effect on the very next request.
 *
 * @throws PavedError UNAUTHENTICATED when the token is missing, unknown, expired or revoked, or
 *   its principal is disabled.
 */
export async function authenticate(
  authorization: string | undefined,
  store: Store,
  clock: Clock,
): Promise<AuthenticatedPrincipal> {
  if (authorization === undefined || authorization.trim() === '') {
    throw unauthenticated(
      'this route needs a token: send "Authorization: Bearer <token>" (after the first start, an administrator token is in <data-dir>/credentials.json)',
    );
  }
  const match = BEARER.exec(authorization);
  if (match === null) {
    throw unauthenticated(
      'the Authorization header is not "Bearer <token>"; send the token Paved issued as a bearer token',
    );
  }
  const token = await store.tokens.findByHash(hashToken(match[1]!));
  if (token === undefined) {
    throw unauthenticated(
      'the token is not known to this server; check the server URL or ask for a new token',
    );
  }
  const now = clock.now();
  if (token.revokedAt !== undefined) {
    throw unauthenticated(`the token "${token.name}" was revoked at ${token.revokedAt}; ask for a new token`);
  }
  if (token.expiresAt !== undefined && Date.parse(token.expiresAt) <= now.getTime()) {
    throw unauthenticated(`the token "${token.name}" expired at ${token.expiresAt}; ask for a new token`);
  }
  const principal = await store.principals.get(token.principalId);
  if (principal === undefined || principal.disabled) {
    throw unauthenticated(`the token "${token.name}" belongs to a principal that is disabled or gone`);
  }
  // Teams arrive with the roles issue; their grants are found by adding `team:<name>` subjects here.
  const grants = await store.grants.listFor([principal.id]);
  await store.tokens.touch(token.id, now);
  return {
    id: principal.id,
    name: principal.name,
    kind: principal.kind,
    tokenId: token.id,
    grants,
    subject: {
      principalId: principal.id,
      grants,
      ...(token.app === undefined ? {} : { restrictedToApp: token.app }),
    },
  };
}

function unauthenticated(message: string): PavedError {
  return new PavedError('UNAUTHENTICATED', message);
}
