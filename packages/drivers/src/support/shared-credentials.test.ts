import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CredentialsRequest, ProvisionRequest, ResourceRef } from '@paved/core';
import { conformanceContext } from '../testing/describe-resource-driver.js';
import {
  currentCredentials,
  generatePassword,
  knownPassword,
  loginName,
  otherSlot,
  parseDriverState,
  provisionLogin,
  redact,
  requireProvisionedState,
  requireSecretInputs,
  startRotation,
} from './shared-credentials.js';

describe('shared credentials', () => {
  it('generates long, distinct passwords of letters and digits', () => {
    const passwords = new Set(Array.from({ length: 200 }, () => generatePassword()));
    expect(passwords.size).toBe(200);
    for (const password of passwords) expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it('alternates between two logins', () => {
    expect(otherSlot(1)).toBe(2);
    expect(otherSlot(2)).toBe(1);
    expect(loginName('paved_shop_dev_db_abc', 2)).toBe('paved_shop_dev_db_abc_2');
  });

  it('hands back a password only for the login it belongs to', () => {
    expect(knownPassword({ username: 'u_1', password: 'p' }, 'u_1')).toBe('p');
    expect(knownPassword({ username: 'u_1', password: 'p' }, 'u_2')).toBeUndefined();
    expect(knownPassword({ username: 'u_1', password: '' }, 'u_1')).toBeUndefined();
    expect(knownPassword(undefined, 'u_1')).toBeUndefined();
  });

  it('redacts every occurrence of every secret', () => {
    expect(redact('pw s3cret and s3cret, key k3y', ['s3cret', 'k3y', undefined])).toBe(
      'pw *** and ***, key ***',
    );
  });

  it('refuses secret inputs given as plain values, without repeating them', () => {
    expect(() =>
      requireSecretInputs('postgres', { values: { adminPassword: 'hunter2' }, secrets: {} }, [
        'adminPassword',
      ]),
    ).toThrow(/"adminPassword" must be given under the definition's inputs.secrets/);
    try {
      requireSecretInputs('postgres', { values: { adminPassword: 'hunter2' }, secrets: {} }, [
        'adminPassword',
      ]);
    } catch (error) {
      expect(String(error)).not.toContain('hunter2');
    }
    expect(() =>
      requireSecretInputs('postgres', { values: {}, secrets: { adminPassword: 'x' } }, ['adminPassword']),
    ).not.toThrow();
  });

  it('parses stored state, naming the resource when it is not what the driver wrote', () => {
    const schema = z.strictObject({ version: z.literal(1) });
    expect(parseDriverState('redis', 'redis.default#x', schema, undefined)).toBeUndefined();
    expect(parseDriverState('redis', 'redis.default#x', schema, { version: 1 })).toEqual({ version: 1 });
    expect(() => parseDriverState('redis', 'redis.default#x', schema, { version: 2 })).toThrow(
      /driver "redis": the stored state of resource "redis.default#x"/,
    );
  });

  describe('rotation steps', () => {
    const resource: ResourceRef = {
      uid: 'db.default#orders.db',
      type: 'db',
      class: 'default',
      id: 'orders.db',
      params: {},
      metadata: {},
    };
    const { dependencies: _d, values: _v, network: _n, ...context } = conformanceContext();
    const inputs = { values: {}, secrets: {} };
    const credentials = (state: unknown, secrets: Record<string, string> = {}): CredentialsRequest => ({
      resource,
      context,
      inputs,
      state,
      secrets,
    });
    const base = 'paved_shop_dev_orders_db_abc';

    it('refuses to rotate a resource never provisioned, naming the driver and resource', () => {
      const parse = (_uid: string, state: unknown): { ok: boolean } | undefined =>
        state === undefined ? undefined : { ok: true };
      expect(requireProvisionedState('db', credentials({}), parse)).toEqual({ ok: true });
      expect(() => requireProvisionedState('db', credentials(undefined), parse)).toThrow(
        'driver "db": resource "db.default#orders.db" has not been provisioned, so it has no credentials to rotate: deploy it first',
      );
    });

    it('keeps the password handed back and logs when it was not', () => {
      const logs: string[] = [];
      const request = (previousSecrets?: Record<string, string>): ProvisionRequest => ({
        resource,
        context: conformanceContext(),
        inputs,
        ...(previousSecrets === undefined ? {} : { previousSecrets }),
        log: (line: string) => void logs.push(line),
      });
      const first = provisionLogin(request(), base, undefined);
      expect(first).toMatchObject({ login: { current: 1 }, username: `${base}_1` });
      expect(first.password).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(logs).toEqual([]);
      const state = { loginBase: base, login: { current: 2 as const } };
      expect(
        provisionLogin(request({ username: `${base}_2`, password: 'kept' }), base, state, 'fresh'),
      ).toEqual({
        login: { current: 2 },
        username: `${base}_2`,
        password: 'kept',
      });
      expect(
        provisionLogin(request({ username: `${base}_1`, password: 'other' }), base, state, 'fresh').password,
      ).toBe('fresh');
      expect(logs).toEqual([`the password of "${base}_2" was not handed back; setting a new one`]);
    });

    it('rotates to the other login, not while a rotation is unrevoked', () => {
      const rotation = startRotation(
        'db',
        credentials({}),
        { loginBase: base, login: { current: 1 } },
        'user',
      );
      expect(rotation.next).toBe(2);
      expect(rotation.password).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(() =>
        startRotation(
          'db',
          credentials({}),
          { loginBase: base, login: { current: 2, previous: 1 } },
          'login',
        ),
      ).toThrow(
        `driver "db": resource "db.default#orders.db" is in the middle of a rotation (login "${base}_1" is not revoked yet)`,
      );
      // Marked, so the server can finish the pending rotation instead of starting another.
      let pending: unknown;
      try {
        startRotation(
          'db',
          credentials({}),
          { loginBase: base, login: { current: 2, previous: 1 } },
          'login',
        );
      } catch (error) {
        pending = error;
      }
      expect(pending).toMatchObject({ code: 'CONFLICT', details: { rotation: 'pending' } });
    });

    it('revokes only with the secrets of the current login', () => {
      const state = { loginBase: base, login: { current: 2 as const, previous: 1 as const } };
      expect(
        currentCredentials(
          'db',
          credentials(state, { username: `${base}_2`, password: 'pw' }),
          state,
          'user',
        ),
      ).toEqual({
        username: `${base}_2`,
        password: 'pw',
      });
      expect(() =>
        currentCredentials(
          'db',
          credentials(state, { username: `${base}_1`, password: 'pw' }),
          state,
          'user',
        ),
      ).toThrow(
        `driver "db": the secrets given for resource "db.default#orders.db" are not those of its current user "${base}_2": pass the secret outputs of the last rotation`,
      );
    });
  });
});
