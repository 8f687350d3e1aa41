import { randomUUID } from 'node:crypto';
import { PavedError } from '@paved/core';
import type { Principal } from '@paved/store';
import { z } from 'zod';
import { verifyPassword } from '../auth/passwords.js';
import { CSRF_COOKIE, SESSION_COOKIE, generateSecret, setCookie } from '../auth/sessions.js';
import { hashToken } from '../auth/tokens.js';
import type { ServerContext } from '../server-context.js';
import { issueToken, userToWire } from './access-lookups.js';
import { createdTokenSchema, tokenExpiry, tokenName, userSchema } from './access-schemas.js';
import { defineRoute, type AnyRoute, type AuditAnnotations } from './route.js';
import { caller } from './scopes.js';

/** What `paved login` tokens live without `expires`. */
const LOGIN_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

const credentials = {
  name: z.string().min(1).max(100),
  password: z.string().min(1).max(1024),
};

/** Logging in with a password: a personal token for the CLI, or a portal session. */
export function sessionRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/api/v1/login',
      permission: 'public',
      summary: 'Exchange a user name and password for a personal token (what `paved login` does)',
      description:
        'Rate-limited: after 5 failed logins of a name within 15 minutes, logins of that name are refused with 429 for 15 minutes (20 per client address). The token is shown this once.',
      body: z.strictObject({
        ...credentials,
        tokenName: tokenName.optional().meta({ description: 'Default: `login`.' }),
        expires: tokenExpiry.meta({ description: 'How long the token lives (default 30d, at most 365d).' }),
      }),
      response: createdTokenSchema.extend({ user: userSchema }),
      status: 201,
      handler: async ({ body, server, audit, remoteAddress, request }) => {
        requireJson(request);
        const user = await checkPassword(server, body.name, body.password, remoteAddress, audit);
        const created = await issueToken(server.store, server.clock, {
          principal: user,
          name: body.tokenName ?? 'login',
          expires: body.expires,
          defaultTtlSeconds: LOGIN_TOKEN_TTL_SECONDS,
        });
        audit.details.tokenId = created.id;
        return { ...created, user: userToWire(user) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/sessions',
      permission: 'public',
      summary: 'Log in to the portal: a session in an HTTP-only, SameSite=Strict cookie',
      description:
        'Sets `paved_session` (HTTP-only) and `paved_csrf` (readable by the portal). Every request of the session that changes something must repeat the CSRF token in `X-CSRF-Token`. Rate-limited as `POST /api/v1/login`.',
      body: z.strictObject(credentials),
      response: z.object({ user: userSchema, csrfToken: z.string(), expiresAt: z.string() }),
      status: 201,
      handler: async ({ body, server, audit, remoteAddress, request }) => {
        requireJson(request);
        const user = await checkPassword(server, body.name, body.password, remoteAddress, audit);
        const secret = generateSecret();
        const csrfToken = generateSecret();
        const expiresAt = new Date(
          server.clock.now().getTime() + server.sessionTtlSeconds * 1000,
        ).toISOString();
        const session = await server.store.sessions.create({
          id: randomUUID(),
          principalId: user.id,
          hash: hashToken(secret),
          csrfHash: hashToken(csrfToken),
          expiresAt,
          ...(remoteAddress === undefined ? {} : { remoteAddress }),
        });
        audit.actor = { ...audit.actor!, tokenId: `session:${session.id}` };
        const secure = new URL(request.url).protocol === 'https:';
        const headers = new Headers({ 'content-type': 'application/json' });
        const maxAgeSeconds = server.sessionTtlSeconds;
        headers.append(
          'set-cookie',
          setCookie(SESSION_COOKIE, secret, { maxAgeSeconds, httpOnly: true, secure }),
        );
        headers.append(
          'set-cookie',
          setCookie(CSRF_COOKIE, csrfToken, { maxAgeSeconds, httpOnly: false, secure }),
        );
        return new Response(JSON.stringify({ user: userToWire(user), csrfToken, expiresAt }), {
          status: 201,
          headers,
        });
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/logout',
      permission: 'tokens.own',
      summary: 'Log out: revoke the token, or end the portal session, the request came with',
      description:
        'What `paved logout` does with the token `paved login` saved; from the portal it ends the session and clears its cookies.',
      response: z.undefined(),
      status: 204,
      handler: async ({ principal, server, request }) => {
        const me = caller(principal);
        const now = server.clock.now();
        if (me.sessionId === undefined) {
          await server.store.tokens.revoke(me.tokenId, now);
          return undefined;
        }
        await server.store.sessions.revoke(me.sessionId, now);
        const secure = new URL(request.url).protocol === 'https:';
        const headers = new Headers();
        headers.append(
          'set-cookie',
          setCookie(SESSION_COOKIE, '', { maxAgeSeconds: 0, httpOnly: true, secure }),
        );
        headers.append(
          'set-cookie',
          setCookie(CSRF_COOKIE, '', { maxAgeSeconds: 0, httpOnly: false, secure }),
        );
        return new Response(null, { status: 204, headers });
      },
    }),
  ];
}

/**
 * The user whose name and password these are, or a refusal that does not say which of the two was
 * wrong. Locked names and addresses are refused before the password is even looked at.
 */
/**
 * Logging in takes JSON only, so that another site's page cannot post a login form (a browser
 * sends `text/plain` forms without asking, but never `application/json` across sites).
 */
function requireJson(request: Request): void {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    throw PavedError.invalid('log in with a JSON body: send Content-Type: application/json', [
      {
        path: '',
        message: `Content-Type ${contentType === '' ? '(none)' : contentType} instead of application/json`,
      },
    ]);
  }
}

async function checkPassword(
  server: ServerContext,
  name: string,
  password: string,
  remoteAddress: string | undefined,
  audit: AuditAnnotations,
): Promise<Principal> {
  audit.actor = { name, kind: 'anonymous' };
  await server.loginLimiter.check(name, remoteAddress);
  const user = await server.store.principals.findByName(name);
  const stored = user?.kind === 'user' ? await server.store.principals.passwordHash(user.id) : undefined;
  // Checked even without a user, against a dummy hash, so the time taken does not tell.
  const matches = await verifyPassword(password, stored);
  if (!matches || user === undefined || user.disabled) {
    await server.loginLimiter.failed(name, remoteAddress);
    throw new PavedError(
      'UNAUTHENTICATED',
      'the user name or password is wrong, or the user is disabled; ask an administrator to reset the password',
    );
  }
  await server.loginLimiter.succeeded(name);
  audit.actor = { id: user.id, name: user.name, kind: user.kind };
  return user;
}
