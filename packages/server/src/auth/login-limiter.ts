import { PavedError, type Clock } from '@paved/core';
import type { LockoutRule, Store } from '@paved/store';

/** What counts as brute force, per user name and per client address. */
export interface LoginLimits {
  /** Failed logins of one user name within `windowSeconds` that lock it for `lockSeconds`. */
  perUser: LockoutRule;
  /** The same per client address, wider: one address may try several names. */
  perAddress: LockoutRule;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perUser: { threshold: 5, windowSeconds: 15 * 60, lockSeconds: 15 * 60 },
  perAddress: { threshold: 20, windowSeconds: 15 * 60, lockSeconds: 15 * 60 },
};

/**
 * Rate-limits password logins: after `threshold` failures within the window, the user name (or
 * the address) is locked for a while, and every login for it is refused — even with the right
 * password — without checking the password. Counters live in the store, so every replica sees
 * them; time comes from the clock, so tests move it instead of waiting.
 */
export class LoginLimiter {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #limits: LoginLimits;

  constructor(store: Store, clock: Clock, limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {
    this.#store = store;
    this.#clock = clock;
    this.#limits = limits;
  }

  /** @throws PavedError TOO_MANY_REQUESTS while the user name or the address is locked. */
  async check(name: string, address: string | undefined): Promise<void> {
    const now = this.#clock.now().getTime();
    for (const key of keys(name, address)) {
      const failures = await this.#store.loginFailures.get(key);
      const until = failures?.lockedUntil === undefined ? undefined : Date.parse(failures.lockedUntil);
      if (until !== undefined && until > now) throw locked(key, failures?.lockedUntil ?? '', until - now);
    }
  }

  /** Counts a failed login for the user name and the address; the next check may refuse. */
  async failed(name: string, address: string | undefined): Promise<void> {
    const at = this.#clock.now();
    for (const key of keys(name, address)) {
      const rule = key.startsWith('user:') ? this.#limits.perUser : this.#limits.perAddress;
      await this.#store.loginFailures.recordFailure(key, at, rule);
    }
  }

  /** Forgets the user name's failures after a successful login (the address keeps its count). */
  async succeeded(name: string): Promise<void> {
    await this.#store.loginFailures.clear(userKey(name));
  }
}

function userKey(name: string): string {
  return `user:${name.toLowerCase()}`;
}

function keys(name: string, address: string | undefined): string[] {
  return [userKey(name), ...(address === undefined ? [] : [`address:${address}`])];
}

function locked(key: string, until: string, remainingMs: number): PavedError {
  const what = key.startsWith('user:') ? `user "${key.slice(5)}"` : `address ${key.slice(8)}`;
  const seconds = Math.max(1, Math.ceil(remainingMs / 1000));
  return new PavedError(
    'TOO_MANY_REQUESTS',
    `too many failed logins for ${what}: logins are refused until ${until} (${seconds} s); an administrator can reset the password meanwhile`,
    { details: { lockedUntil: until, retryAfterSeconds: seconds } },
  );
}
