import { describe, expect, it } from 'vitest';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';

describe('passwords', () => {
  it('hashes with scrypt, a random salt and the parameters, and verifies', async () => {
    const first = await hashPassword('correct horse battery staple');
    const second = await hashPassword('correct horse battery staple');
    expect(first).toMatch(/^scrypt\$32768\$8\$3\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(second).not.toBe(first);
    expect(await verifyPassword('correct horse battery staple', first)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', first)).toBe(false);
    expect(first).not.toContain('correct');
  });

  it('refuses without a hash, and does not trust a hash it cannot read', async () => {
    expect(await verifyPassword('anything at all', undefined)).toBe(false);
    for (const stored of [
      '',
      'plain',
      'scrypt$1048577$8$1$c2FsdA$aGFzaA',
      'scrypt$3$8$1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA',
    ]) {
      expect(await verifyPassword('anything at all', stored)).toBe(false);
    }
  });

  it('normalises Unicode, so the same password typed differently still matches', async () => {
    const composed = 'caf\u00e9 au lait, black';
    const decomposed = 'cafe\u0301 au lait, black';
    expect(await verifyPassword(decomposed, await hashPassword(composed))).toBe(true);
  });

  it('asks for at least 12 characters and at most 256, without quoting the password', () => {
    expect(passwordProblem('short-pw')).toBe(
      'a password needs at least 12 characters (this one has 8); a few words make a good one',
    );
    expect(passwordProblem('x'.repeat(257))).toBe('a password has at most 256 characters');
    expect(passwordProblem('twelve chars')).toBeUndefined();
  });
});
