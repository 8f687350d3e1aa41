import { describe, expect, it } from 'vitest';
import { normaliseServerUrl, sameServerUrl } from './server-url.js';

describe('normaliseServerUrl', () => {
  it('drops trailing slashes, query and fragment; lower-cases the host; drops default ports', () => {
    expect(normaliseServerUrl('http://127.0.0.1:7070/')).toBe('http://127.0.0.1:7070');
    expect(normaliseServerUrl('http://127.0.0.1:7070///')).toBe('http://127.0.0.1:7070');
    expect(normaliseServerUrl('HTTP://Paved.Example.COM:80/?x=1#y')).toBe('http://paved.example.com');
    expect(normaliseServerUrl('https://paved.example.com/base/')).toBe('https://paved.example.com/base');
  });

  it('rejects what is not an http(s) URL, and credentials in the URL', () => {
    expect(() => normaliseServerUrl('localhost:7070')).toThrow(/http:\/\/ or https:\/\//);
    expect(() => normaliseServerUrl('')).toThrow(/not a valid server URL/);
    expect(() => normaliseServerUrl('http://u:p@host')).toThrow(/PAVED_TOKEN/);
  });
});

describe('sameServerUrl', () => {
  it.each([
    ['http://127.0.0.1:7070', 'http://127.0.0.1:7070/', true],
    ['http://example.com', 'http://example.com:80', true],
    ['http://127.0.0.1:7070', 'http://127.0.0.1:7071', false],
    ['http://127.0.0.1:7070', 'https://127.0.0.1:7070', false],
    ['http://127.0.0.1:7070', 'http://localhost:7070', false],
    ['http://127.0.0.1:7070', 'http://127.0.0.1:7070/other', false],
    ['not a url', 'not a url', false],
  ])('%s vs %s: %s', (a, b, same) => {
    expect(sameServerUrl(a, b)).toBe(same);
  });
});
