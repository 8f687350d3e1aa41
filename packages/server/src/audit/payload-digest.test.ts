import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { REDACTED, jsonPayloadDigest, redactSecrets } from './payload-digest.js';

describe('redactSecrets', () => {
  it('replaces secret members and the values of secret entries, keeping flags and structure', () => {
    expect(
      redactSecrets({
        name: 'alice',
        password: 'hunter2hunter2',
        set: [
          { key: 'API_KEY', value: 's3cr3t', secret: true },
          { key: 'LOG_LEVEL', value: 'info' },
        ],
        spec: {
          inputs: { values: { host: 'db' }, secrets: { password: 'x' } },
          kubeconfig: 'apiVersion: v1',
        },
        tokenName: 'laptop',
      }),
    ).toEqual({
      name: 'alice',
      password: REDACTED,
      set: [
        { key: 'API_KEY', value: REDACTED, secret: true },
        { key: 'LOG_LEVEL', value: 'info' },
      ],
      spec: { inputs: { values: { host: 'db' }, secrets: REDACTED }, kubeconfig: REDACTED },
      tokenName: REDACTED,
    });
  });
});

describe('jsonPayloadDigest', () => {
  it('is the SHA-256 of the canonical JSON of the redacted body', () => {
    const body = { b: 1, a: { d: [1, 2], c: 'x' } };
    expect(jsonPayloadDigest(body)).toBe(
      createHash('sha256').update('{"a":{"c":"x","d":[1,2]},"b":1}').digest('hex'),
    );
    expect(jsonPayloadDigest({ a: { c: 'x', d: [1, 2] }, b: 1 })).toBe(jsonPayloadDigest(body));
  });

  it('does not depend on secret values, so a short secret cannot be guessed from it', () => {
    expect(jsonPayloadDigest({ name: 'alice', password: 'one-password!' })).toBe(
      jsonPayloadDigest({ name: 'alice', password: 'another-password' }),
    );
    expect(jsonPayloadDigest({ name: 'alice' })).not.toBe(jsonPayloadDigest({ name: 'bob' }));
  });
});
