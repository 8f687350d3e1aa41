import { randomBytes } from 'node:crypto';
import { PavedError } from '@paved/core';
import { describe, expect, it } from 'vitest';
import { SecretBox, masterKeyId } from './secret-box.js';

const key = () => randomBytes(32);

function flipCharacter(text: string, index: number): string {
  const replacement = text[index] === 'A' ? 'B' : 'A';
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

describe('SecretBox', () => {
  it('fingerprints text stably per master key, without revealing a plain hash', () => {
    const master = key();
    const box = new SecretBox(master);
    expect(box.fingerprint('a')).toBe(new SecretBox(master).fingerprint('a'));
    expect(box.fingerprint('a')).not.toBe(box.fingerprint('b'));
    expect(box.fingerprint('a')).not.toBe(new SecretBox(key()).fingerprint('a'));
    expect(box.fingerprint('a')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('opens what it sealed, including empty and non-ASCII values', () => {
    const box = new SecretBox(key());
    for (const value of ['hunter2', '', 'pässwörd 🔑', 'x'.repeat(100_000)]) {
      const sealed = box.seal(value);
      expect(SecretBox.isSealed(sealed)).toBe(true);
      expect(sealed).not.toContain(value === '' ? 'never' : value.slice(0, 20));
      expect(box.open(sealed)).toBe(value);
    }
  });

  it('uses a fresh data key and nonce per value and names the master key', () => {
    const master = key();
    const box = new SecretBox(master);
    const first = box.seal('same');
    const second = box.seal('same');
    expect(first).not.toBe(second);
    expect(first.startsWith(`v1:${masterKeyId(master)}:`)).toBe(true);
    expect(box.keyId).toBe(masterKeyId(master));
  });

  it('detects tampering with any part', () => {
    const box = new SecretBox(key());
    const sealed = box.seal('the secret');
    const body = sealed.indexOf(':', 3) + 1;
    const dots = [...sealed.matchAll(/\./g)].map((match) => match.index);
    // One character inside each of the four parts: wrap IV, wrapped key, value IV, ciphertext.
    for (const index of [body + 1, dots[0]! + 2, dots[1]! + 2, dots[2]! + 2]) {
      expect(() => box.open(flipCharacter(sealed, index))).toThrow(/could not be decrypted: it was altered/);
    }
    // Swapping the key id for another one is refused before any decryption.
    expect(() => box.open(sealed.replace(/^v1:[0-9a-f]{16}/, 'v1:0000000000000000'))).toThrow(
      /sealed with master key 0000000000000000, which this server does not have/,
    );
  });

  it('refuses a different master key, naming the one it needs', () => {
    const sealedBy = new SecretBox(key());
    const sealed = sealedBy.seal('the secret');
    const error = captureError(() => new SecretBox(key()).open(sealed));
    expect(error).toBeInstanceOf(PavedError);
    expect(error.message).toContain(`master key ${sealedBy.keyId}`);
    expect(error.message).not.toContain('the secret');
  });

  it('refuses text that was never sealed without echoing it', () => {
    const box = new SecretBox(key());
    const error = captureError(() => box.open('plain-text-password'));
    expect(error.message).toMatch(/not in the sealed format/);
    expect(error.message).not.toContain('plain-text-password');
  });

  it('rejects master keys of the wrong length', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/must be 32 bytes long, this one has 16/);
  });

  it('re-wraps data keys for a new master key, keeping the encrypted value', () => {
    const oldKey = key();
    const newKey = key();
    const sealed = new SecretBox(oldKey).seal('rotate me');
    const rotated = new SecretBox(newKey, [oldKey]);
    const rewrapped = rotated.rewrap(sealed);
    expect(rewrapped.startsWith(`v1:${masterKeyId(newKey)}:`)).toBe(true);
    expect(rewrapped.split('.').slice(2)).toEqual(sealed.split('.').slice(2));
    expect(new SecretBox(newKey).open(rewrapped)).toBe('rotate me');
    expect(rotated.open(sealed)).toBe('rotate me');
    expect(rotated.rewrap(rewrapped)).toBe(rewrapped);
  });
});

describe('SecretBox.useKeys', () => {
  it('switches the keys of the same box in place, for every holder of it', () => {
    const oldKey = key();
    const newKey = key();
    const box = new SecretBox(oldKey);
    const holder = { secrets: box };
    const before = box.seal('kept');
    box.useKeys(newKey, [oldKey]);
    expect(holder.secrets.keyId).toBe(masterKeyId(newKey));
    expect(box.keyIds).toEqual([masterKeyId(newKey), masterKeyId(oldKey)]);
    expect(SecretBox.keyIdOf(box.seal('new'))).toBe(masterKeyId(newKey));
    expect(box.open(before)).toBe('kept');
    box.useKeys(newKey);
    expect(box.keyIds).toEqual([masterKeyId(newKey)]);
    expect(() => box.open(before)).toThrow(/which this server does not have/);
  });

  it('names the key a sealed value needs, and refuses what was never sealed', () => {
    const master = key();
    expect(SecretBox.keyIdOf(new SecretBox(master).seal('x'))).toBe(masterKeyId(master));
    expect(() => SecretBox.keyIdOf('plain')).toThrow(/not in the sealed format/);
  });
});

function captureError(work: () => unknown): PavedError {
  try {
    work();
  } catch (error) {
    if (error instanceof PavedError) return error;
    throw error;
  }
  throw new Error('expected an error');
}
