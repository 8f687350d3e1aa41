/**
 * Credentials the shared-server drivers (`postgres`, `mysql`, `redis`, `amqp`) hand out.
 *
 * Each resource has two logins, `<base>_1` and `<base>_2`, of which one is current. A rotation
 * switches to the other one with a new password while the current keeps working; revoking then
 * disables the old one once the workloads run with the new. Passwords are never kept in driver
 * state, which is stored in plain text: they live in the secret outputs (encrypted at rest) and
 * come back through `previousSecrets`.
 */
import { randomInt } from 'node:crypto';
import { PavedError, type CredentialsRequest, type ProvisionRequest } from '@paved/core';
import { z } from 'zod';

const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A random password of letters and digits (32 characters: about 190 bits), safe in URIs,
 * connection strings and option files without escaping.
 */
export function generatePassword(length = 32): string {
  let password = '';
  for (let i = 0; i < length; i += 1) password += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return password;
}

export type LoginSlot = 1 | 2;

const slot = z.union([z.literal(1), z.literal(2)]);

/** Which login is current, and the one a rotation replaced while it is not yet revoked. */
export const loginSlotsSchema = z.strictObject({ current: slot, previous: slot.optional() });
export type LoginSlots = z.infer<typeof loginSlotsSchema>;

export function otherSlot(current: LoginSlot): LoginSlot {
  return current === 1 ? 2 : 1;
}

/** The login user of a slot: `<base>_<slot>`. */
export function loginName(base: string, which: LoginSlot): string {
  return `${base}_${which}`;
}

/** What every shared-server driver keeps in its state about its logins. */
export interface LoginState {
  loginBase: string;
  login: LoginSlots;
}

/** What a driver calls its logins in messages: PostgreSQL has login roles, the others users. */
export type LoginNoun = 'login' | 'user';

/** Parses a driver's stored state: the driver's own `parseDriverState` with its schema. */
export type StateParser<S> = (uid: string, state: unknown) => S | undefined;

/**
 * Parses the state a driver stored, or returns undefined when there is none (first provisioning,
 * or a deprovision after a crash before anything was recorded).
 */
export function parseDriverState<T extends z.ZodType>(
  driverId: string,
  uid: string,
  schema: T,
  state: unknown,
): z.output<T> | undefined {
  if (state === undefined || state === null) return undefined;
  const parsed = schema.safeParse(state);
  if (parsed.success) return parsed.data;
  throw new PavedError(
    'INVALID_INPUT',
    `driver "${driverId}": the stored state of resource "${uid}" is not what the driver wrote (${parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(state)'}: ${issue.message}`)
      .join('; ')}): it was changed outside Paved; restore it`,
    { details: { driver: driverId, uid } },
  );
}

/**
 * The password last handed out for `username`, when the previous secret outputs were given and
 * belong to that login.
 */
export function knownPassword(
  previousSecrets: Record<string, string> | undefined,
  username: string,
): string | undefined {
  if (previousSecrets?.username !== username) return undefined;
  const password = previousSecrets.password;
  return typeof password === 'string' && password.length > 0 ? password : undefined;
}

/** Replaces every occurrence of the given secrets in a text (an error message, tool output). */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= 3) out = out.split(secret).join('***');
  }
  return out;
}

/**
 * Refuses a secret input given among the plain values of a definition, where it would be stored
 * and shown in plain text.
 */
export function requireSecretInputs(
  driverId: string,
  inputs: ProvisionRequest['inputs'],
  keys: readonly string[],
): void {
  const misplaced = keys.filter((key) => Object.hasOwn(inputs.values, key));
  if (misplaced.length === 0) return;
  throw new PavedError(
    'INVALID_INPUT',
    `driver "${driverId}": ${misplaced.map((key) => `"${key}"`).join(', ')} must be given under the definition's inputs.secrets ` +
      `(as { env: NAME } or { file: PATH }), not under inputs.values, where it would be stored and shown in plain text`,
    { details: { driver: driverId, inputs: misplaced } },
  );
}

/**
 * The state of a resource whose credentials are to be rotated or revoked; refuses one that was
 * never provisioned.
 */
export function requireProvisionedState<S>(
  driverId: string,
  request: CredentialsRequest,
  parse: StateParser<S>,
): S {
  const state = parse(request.resource.uid, request.state);
  if (state !== undefined) return state;
  throw new PavedError(
    'CONFLICT',
    `driver "${driverId}": resource "${request.resource.uid}" has not been provisioned, so it has no credentials to rotate: deploy it first`,
    { details: { uid: request.resource.uid } },
  );
}

/** The login a provisioning sets up, and its password. */
export interface ProvisionedLogin {
  login: LoginSlots;
  username: string;
  password: string;
}

/**
 * The current login of a provisioning (the first one of a new resource) with the password handed
 * back in the previous secret outputs, or a new one (`fresh`, generated unless given) when it was
 * not, which is logged for a resource provisioned before.
 */
export function provisionLogin(
  request: ProvisionRequest,
  loginBase: string,
  previous: LoginState | undefined,
  fresh?: string,
): ProvisionedLogin {
  const login: LoginSlots = previous?.login ?? { current: 1 };
  const username = loginName(loginBase, login.current);
  const kept = knownPassword(request.previousSecrets, username);
  if (kept === undefined && previous !== undefined) {
    request.log?.(`the password of "${username}" was not handed back; setting a new one`);
  }
  return { login, username, password: kept ?? fresh ?? generatePassword() };
}

/**
 * Starts a rotation: the other login and a new password for it. Refuses while the previous
 * rotation is not revoked, which would take away the login the workloads still use.
 */
export function startRotation(
  driverId: string,
  request: CredentialsRequest,
  state: LoginState,
  noun: LoginNoun,
): { next: LoginSlot; password: string } {
  if (state.login.previous !== undefined) {
    throw new PavedError(
      'CONFLICT',
      `driver "${driverId}": resource "${request.resource.uid}" is in the middle of a rotation (${noun} "${loginName(state.loginBase, state.login.previous)}" is not revoked yet): ` +
        'redeploy the workloads, revoke the previous credentials, then rotate again',
      // `rotation: 'pending'` tells the caller the new login exists: it may redeploy and revoke.
      { details: { uid: request.resource.uid, rotation: 'pending' } },
    );
  }
  return { next: otherSlot(state.login.current), password: generatePassword() };
}

/** Logs the login a rotation made. */
export function logRotation(
  request: CredentialsRequest,
  noun: LoginNoun,
  loginBase: string,
  next: LoginSlot,
): void {
  request.log?.(`new ${noun} "${loginName(loginBase, next)}"; the previous one works until it is revoked`);
}

/**
 * The current login and its password from the secrets given to a revocation, which must be those
 * of the last rotation.
 */
export function currentCredentials(
  driverId: string,
  request: CredentialsRequest,
  state: LoginState,
  noun: LoginNoun,
): { username: string; password: string } {
  const username = loginName(state.loginBase, state.login.current);
  const password = knownPassword(request.secrets, username);
  if (password !== undefined) return { username, password };
  throw new PavedError(
    'INVALID_INPUT',
    `driver "${driverId}": the secrets given for resource "${request.resource.uid}" are not those of its current ${noun} "${username}": pass the secret outputs of the last rotation`,
    { details: { uid: request.resource.uid } },
  );
}
