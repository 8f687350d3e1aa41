import { PavedError } from '@paved/core';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, depthExceededAt, readJsonBody } from './read-body.js';

const post = (body: string, headers: Record<string, string> = {}) =>
  new Request('http://paved.test/', { method: 'POST', body, headers });

async function failure(promise: Promise<unknown>): Promise<PavedError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PavedError) return error;
    throw error;
  }
  throw new Error('expected a PavedError');
}

describe('readJsonBody', () => {
  it('parses JSON, with or without a JSON content type', async () => {
    expect(
      await readJsonBody(post('{"a":1}', { 'content-type': 'application/json; charset=utf-8' }), 100),
    ).toEqual({ a: 1 });
    expect(await readJsonBody(post('[1]', { 'content-type': 'application/merge-patch+json' }), 100)).toEqual([
      1,
    ]);
    expect(await readJsonBody(post('  '), 100)).toBeUndefined();
    // fetch() labels a string body text/plain when the caller does not say otherwise.
    expect(await readJsonBody(post('{"b":2}'), 100)).toEqual({ b: 2 });
  });

  it('refuses bodies over the limit with PAYLOAD_TOO_LARGE', async () => {
    const error = await failure(readJsonBody(post(JSON.stringify({ a: 'x'.repeat(200) })), 100));
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.message).toBe(
      'the request body is larger than 100 bytes, the most this server accepts; send less per request',
    );
  });

  it('reports malformed JSON by position, never quoting it', async () => {
    const error = await failure(readJsonBody(post('{"password": s3cret'), 100));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatch(/^the request body is not valid JSON/);
    expect(JSON.stringify(error.toJSON())).not.toContain('s3cret');
  });

  it('refuses other content types', async () => {
    const error = await failure(readJsonBody(post('a=1', { 'content-type': 'multipart/form-data' }), 100));
    expect(error.message).toBe(
      'the request body must be JSON, not multipart/form-data; send Content-Type: application/json',
    );
  });

  it('refuses JSON nested deeper than MAX_JSON_DEPTH with INVALID_INPUT, before parsing it', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const error = await failure(readJsonBody(post(deep), 1024 * 1024));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toBe(
      `the request body is nested deeper than ${MAX_JSON_DEPTH} levels (at character ${MAX_JSON_DEPTH}); send a flatter document`,
    );
    const justDeepEnough = `${'{"a":'.repeat(MAX_JSON_DEPTH)}1${'}'.repeat(MAX_JSON_DEPTH)}`;
    expect(await readJsonBody(post(justDeepEnough), 1024 * 1024)).toBeTypeOf('object');
  });
});

describe('depthExceededAt', () => {
  it('counts brackets outside strings only', () => {
    expect(depthExceededAt('[[1]]', 2)).toBeUndefined();
    expect(depthExceededAt('[[[1]]]', 2)).toBe(2);
    expect(depthExceededAt('["[[[[", "\\"[[["]', 1)).toBeUndefined();
    expect(depthExceededAt('{"a":{"b":{}}}', 2)).toBe(10);
  });
});
