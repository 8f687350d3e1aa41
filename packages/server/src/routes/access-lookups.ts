import { randomUUID } from 'node:crypto';
import { PavedError, type Clock } from '@paved/core';
import { teamSubject, type Principal, type RoleGrant, type Store, type Token } from '@paved/store';
import type { z } from 'zod';
import { generateToken, hashToken } from '../auth/tokens.js';
import { parseDurationSeconds } from '../duration.js';
import {
  DEFAULT_TOKEN_TTL_SECONDS,
  MAX_TOKEN_TTL_SECONDS,
  type createdTokenSchema,
  type roleBindingSchema,
  type tokenSchema,
  type userSchema,
} from './access-schemas.js';

export type PrincipalKind = Principal['kind'];

function describeKind(kind: PrincipalKind | undefined): string {
  return kind === 'service-account'
    ? 'service account'
    : kind === 'user'
      ? 'user'
      : 'user or service account';
}

/** The principal of that name (and kind, when given), or NOT_FOUND saying how to find the names. */
export async function requirePrincipal(store: Store, name: string, kind?: PrincipalKind): Promise<Principal> {
  const principal = await store.principals.findByName(name);
  if (principal === undefined || (kind !== undefined && principal.kind !== kind)) {
    throw new PavedError(
      'NOT_FOUND',
      `${describeKind(kind)} "${name}" does not exist; paved users list shows them`,
      { details: { name } },
    );
  }
  return principal;
}

/** The service account `name` of `app`, or NOT_FOUND: another app's is as good as absent. */
export async function requireAppServiceAccount(store: Store, app: string, name: string): Promise<Principal> {
  const principal = await store.principals.findByName(name);
  if (principal === undefined || principal.kind !== 'service-account' || principal.app !== app) {
    throw new PavedError(
      'NOT_FOUND',
      `app "${app}" has no service account "${name}"; paved users list --app ${app} shows them`,
      { details: { app, name } },
    );
  }
  return principal;
}

/**
 * A role binding's subject (`user:alice`, `service-account:ci`, `team:web`) as the store keeps it
 * (a principal id, or `team:<name>`), after checking that it exists.
 */
export async function resolveSubject(store: Store, ref: string): Promise<string> {
  const index = ref.indexOf(':');
  const kind = ref.slice(0, index);
  const name = ref.slice(index + 1);
  if (kind === 'team') {
    if ((await store.teams.get(name)) === undefined) {
      throw new PavedError('NOT_FOUND', `team "${name}" does not exist; paved teams list shows them`, {
        details: { team: name },
      });
    }
    return teamSubject(name);
  }
  return (await requirePrincipal(store, name, kind === 'service-account' ? 'service-account' : 'user')).id;
}

/** Subject references for stored grant subjects (principal ids, `team:<name>`). */
export async function subjectRefs(store: Store, grants: readonly RoleGrant[]): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  for (const grant of grants) {
    if (refs.has(grant.subject)) continue;
    if (grant.subject.startsWith('team:')) {
      refs.set(grant.subject, grant.subject);
      continue;
    }
    const principal = await store.principals.get(grant.subject);
    refs.set(
      grant.subject,
      principal === undefined ? `user:(deleted ${grant.subject})` : `${principal.kind}:${principal.name}`,
    );
  }
  return refs;
}

export async function grantsToWire(
  store: Store,
  grants: readonly RoleGrant[],
): Promise<z.input<typeof roleBindingSchema>[]> {
  const refs = await subjectRefs(store, grants);
  return grants.map((grant) => ({
    role: grant.role,
    subject: refs.get(grant.subject) ?? grant.subject,
    scope: grant.scope,
    createdAt: grant.createdAt,
  }));
}

export function userToWire(
  principal: Principal,
  extra: { teams?: string[]; roles?: z.input<typeof roleBindingSchema>[] } = {},
): z.input<typeof userSchema> {
  return {
    id: principal.id,
    name: principal.name,
    kind: principal.kind,
    ...(principal.app === undefined ? {} : { app: principal.app }),
    disabled: principal.disabled,
    hasPassword: principal.hasPassword === true,
    createdAt: principal.createdAt,
    ...extra,
  };
}

/** A token on the wire: never its hash. */
export function tokenToWire(token: Token, principalName: string): z.input<typeof tokenSchema> {
  return {
    id: token.id,
    name: token.name,
    principal: principalName,
    createdAt: token.createdAt,
    ...(token.expiresAt === undefined ? {} : { expiresAt: token.expiresAt }),
    ...(token.lastUsedAt === undefined ? {} : { lastUsedAt: token.lastUsedAt }),
    ...(token.revokedAt === undefined ? {} : { revokedAt: token.revokedAt }),
    ...(token.app === undefined ? {} : { app: token.app }),
  };
}

export interface IssueTokenOptions {
  principal: Principal;
  name: string;
  /** A duration such as `30d`; the default lifetime when absent. */
  expires?: string | undefined;
  defaultTtlSeconds?: number;
  app?: string | undefined;
}

/**
 * Creates a token for `principal` and returns it with its secret, which is not stored (only its
 * SHA-256 is) and so is shown this once.
 */
export async function issueToken(
  store: Store,
  clock: Clock,
  options: IssueTokenOptions,
): Promise<z.input<typeof createdTokenSchema>> {
  const seconds =
    options.expires === undefined
      ? (options.defaultTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS)
      : (parseDurationSeconds(options.expires) ?? DEFAULT_TOKEN_TTL_SECONDS);
  if (seconds > MAX_TOKEN_TTL_SECONDS) {
    throw PavedError.invalid(`a token lives at most 365d; "${options.expires}" is longer`, [
      { path: 'expires', message: 'at most 365d' },
    ]);
  }
  const secret = generateToken();
  const token = await store.tokens.create({
    id: randomUUID(),
    principalId: options.principal.id,
    name: options.name,
    hash: hashToken(secret),
    expiresAt: new Date(clock.now().getTime() + seconds * 1000).toISOString(),
    ...(options.app === undefined ? {} : { app: options.app }),
  });
  return { ...tokenToWire(token, options.principal.name), token: secret };
}

/** The token `id` of `principal`, or NOT_FOUND (someone else's token is as good as absent). */
export async function requireTokenOf(store: Store, principal: Principal, id: string): Promise<Token> {
  const token = await store.tokens.get(id);
  if (token === undefined || token.principalId !== principal.id) {
    throw new PavedError(
      'NOT_FOUND',
      `${describeKind(principal.kind)} "${principal.name}" has no token "${id}"; paved tokens list shows the ids`,
      { details: { id } },
    );
  }
  return token;
}
