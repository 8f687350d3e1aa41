import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  generatePassword,
  knownPassword,
  loginName,
  otherSlot,
  parseDriverState,
  redact,
  requireSecretInputs,
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
});
