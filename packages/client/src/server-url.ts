import { PavedError } from '@paved/core';

/**
 * The canonical form of a server URL: parsed, without a trailing slash, query or fragment. Two
 * spellings of the same server (`http://127.0.0.1:7070/` and `http://127.0.0.1:7070`) normalise
 * to the same string; different hosts, schemes or ports never do.
 *
 * @example
 * normaliseServerUrl('http://127.0.0.1:7070/'); // 'http://127.0.0.1:7070'
 */
export function normaliseServerUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PavedError(
      'INVALID_INPUT',
      `"${url}" is not a valid server URL: give one like http://127.0.0.1:7070 (with --url or PAVED_URL)`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new PavedError(
      'INVALID_INPUT',
      `"${url}" is not a valid server URL: it must start with http:// or https://, e.g. http://127.0.0.1:7070`,
    );
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new PavedError(
      'INVALID_INPUT',
      `the server URL "${parsed.host}" must not carry a user name or password: pass the token in PAVED_TOKEN instead`,
    );
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
}

/**
 * Whether two URLs name the same server: scheme, host and port compared exactly (after the WHATWG
 * URL parser lower-cases the host and drops default ports), and the same path once trailing
 * slashes are ignored. `localhost` and `127.0.0.1` are different servers on purpose: a credential
 * is only ever sent to the URL it was issued for. Unparseable URLs never match.
 *
 * @example
 * sameServerUrl('http://127.0.0.1:7070/', 'http://127.0.0.1:7070'); // true
 * sameServerUrl('http://127.0.0.1:7070', 'http://localhost:7070'); // false
 */
export function sameServerUrl(a: string, b: string): boolean {
  try {
    return normaliseServerUrl(a) === normaliseServerUrl(b);
  } catch {
    return false;
  }
}
