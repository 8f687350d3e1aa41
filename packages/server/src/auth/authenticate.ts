import { PavedError, type Clock } from '@paved/core';
import type { Principal, RoleGrant, Store } from '@paved/store';
import type { AuthenticatedPrincipal } from './authenticated-principal.js';
import { CSRF_HEADER, SESSION_COOKIE, matchesHash, readCookie } from './sessions.js';
import { hashToken } from './tokens.js';

const BEARER = /^Bearer[ ]+([A-Za-z0-9._~+/=-]{1,512})[ ]*$/i;
const SECRET = /^[A-Za-z0-9_-]{1,512}$/;
/** Methods that change nothing; session requests with any other method need the CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/**
 * `lastUsedAt` is written at most this often per credential, so that reading does not turn every
 * request into a write. Checking the credential is never skipped: only the bookkeeping is coarse.
 */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** Whose credential a refused request came with. */
export interface AttemptedCredential {
  principal: Principal;
  tokenId: string;
}

/**
 * A refused credential. When the credential was real (revoked, expired, of a disabled principal,
 * a session request without its CSRF token), `attempted` says whose it was, for the audit log; it
 * never reaches the answer.
 */
export class AuthenticationFailure extends PavedError {
  readonly attempted: AttemptedCredential | undefined;

  constructor(
    message: string,
    attempted?: AttemptedCredential,
    code: 'UNAUTHENTICATED' | 'FORBIDDEN' = 'UNAUTHENTICATED',
    details?: Record<string, unknown>,
  ) {
    super(code, message, details === undefined ? {} : { details });
    this.attempted = attempted;
  }
}

/** What authentication reads from a request. */
export interface Credentials {
  method: string;
  /** The `Authorization` header. */
  authorization?: string;
  /** The `Cookie` header. */
  cookie?: string;
  /** The `X-CSRF-Token` header. */
  csrfToken?: string;
}

/**
 * Establishes who sent a request: from its `Authorization: Bearer <token>` header, else from its
 * portal session cookie. Either is looked up by its SHA-256 on every request, without a cache, so
 * that revoking it or disabling its principal takes effect on the very next request. A request
 * that changes something on the strength of a session cookie must also carry the session's CSRF
 * token in `X-CSRF-Token`: a page of another site can make a browser send the cookie, but cannot
 * read the token.
 *
 * @throws PavedError UNAUTHENTICATED when the credential is missing, unknown, expired or revoked,
 *   or its principal is disabled; FORBIDDEN when a session request lacks its CSRF token.
 */
export async function authenticate(
  credentials: Credentials,
  store: Store,
  clock: Clock,
): Promise<AuthenticatedPrincipal> {
  const { authorization } = credentials;
  if (authorization !== undefined && authorization.trim() !== '') {
    return authenticateToken(authorization, store, clock);
  }
  const session = readCookie(credentials.cookie, SESSION_COOKIE);
  if (session !== undefined) return authenticateSession(session, credentials, store, clock);
  throw unauthenticated(
    'this route needs a token: send "Authorization: Bearer <token>" (after the first start, an administrator token is in <data-dir>/credentials.json)',
  );
}

async function authenticateToken(
  authorization: string,
  store: Store,
  clock: Clock,
): Promise<AuthenticatedPrincipal> {
  const match = BEARER.exec(authorization);
  if (match === null) {
    throw unauthenticated(
      'the Authorization header is not "Bearer <token>"; send the token Paved issued as a bearer token',
    );
  }
  const found = await store.tokens.findWithPrincipal(hashToken(match[1]!));
  if (found === undefined) {
    throw unauthenticated(
      'the token is not known to this server; check the server URL or ask for a new token',
    );
  }
  const { token, principal } = found;
  const now = clock.now();
  const attempted = { principal, tokenId: token.id };
  if (token.revokedAt !== undefined) {
    throw new AuthenticationFailure(
      `the token "${token.name}" was revoked at ${token.revokedAt}; ask for a new token`,
      attempted,
    );
  }
  if (token.expiresAt !== undefined && Date.parse(token.expiresAt) <= now.getTime()) {
    throw new AuthenticationFailure(
      `the token "${token.name}" expired at ${token.expiresAt}; ask for a new token`,
      attempted,
    );
  }
  if (principal.disabled) {
    throw new AuthenticationFailure(
      `the token "${token.name}" belongs to a principal that is disabled`,
      attempted,
    );
  }
  const access = await store.grants.resolve(principal.id);
  if (stale(token.lastUsedAt, now)) await store.tokens.touch(token.id, now);
  return authenticated(principal, access, { tokenId: token.id, via: 'token', restrictedToApp: token.app });
}

async function authenticateSession(
  secret: string,
  credentials: Credentials,
  store: Store,
  clock: Clock,
): Promise<AuthenticatedPrincipal> {
  const message = 'the portal session is not valid any more (expired, ended or unknown); log in again';
  if (!SECRET.test(secret)) throw unauthenticated(message);
  const found = await store.sessions.findWithPrincipal(hashToken(secret));
  if (found === undefined) throw unauthenticated(message);
  const { session, principal } = found;
  const now = clock.now();
  if (
    session.revokedAt !== undefined ||
    Date.parse(session.expiresAt) <= now.getTime() ||
    principal.disabled
  ) {
    throw new AuthenticationFailure(message, { principal, tokenId: `session:${session.id}` });
  }
  if (!SAFE_METHODS.has(credentials.method.toUpperCase())) {
    const offered = credentials.csrfToken;
    if (offered === undefined || !SECRET.test(offered) || !matchesHash(offered, session.csrfHash)) {
      throw new AuthenticationFailure(
        `a request that changes something with a session cookie must carry the session's CSRF token in the ${CSRF_HEADER} header (the portal reads it from the paved_csrf cookie); it was ${offered === undefined ? 'missing' : 'wrong'}`,
        { principal, tokenId: `session:${session.id}` },
        'FORBIDDEN',
        { csrf: offered === undefined ? 'missing' : 'wrong' },
      );
    }
  }
  const access = await store.grants.resolve(principal.id);
  if (stale(session.lastUsedAt, now)) await store.sessions.touch(session.id, now);
  return authenticated(principal, access, {
    tokenId: `session:${session.id}`,
    via: 'session',
    sessionId: session.id,
  });
}

function authenticated(
  principal: Principal,
  access: { teams: string[]; grants: RoleGrant[] },
  credential: {
    tokenId: string;
    via: AuthenticatedPrincipal['via'];
    restrictedToApp?: string | undefined;
    sessionId?: string;
  },
): AuthenticatedPrincipal {
  return {
    id: principal.id,
    name: principal.name,
    kind: principal.kind,
    ...(principal.app === undefined ? {} : { app: principal.app }),
    tokenId: credential.tokenId,
    via: credential.via,
    ...(credential.sessionId === undefined ? {} : { sessionId: credential.sessionId }),
    teams: access.teams,
    grants: access.grants,
    subject: {
      principalId: principal.id,
      grants: access.grants,
      teams: access.teams,
      ...(credential.restrictedToApp === undefined ? {} : { restrictedToApp: credential.restrictedToApp }),
    },
  };
}

function stale(lastUsedAt: string | undefined, now: Date): boolean {
  return lastUsedAt === undefined || now.getTime() - Date.parse(lastUsedAt) >= LAST_USED_RESOLUTION_MS;
}

function unauthenticated(message: string): PavedError {
  return new PavedError('UNAUTHENTICATED', message);
}
