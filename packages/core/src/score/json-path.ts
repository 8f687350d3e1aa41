/**
 * JSON paths name a value inside a Score file in problems and messages: `containers.web.image`,
 * `containers.web.args[0]`, `containers.web.files["/etc/app.conf"]`. A key made only of letters,
 * digits, `_` and `-` is written after a dot; any other key (dots, slashes, spaces, empty) is written
 * in brackets as a JSON string, so the path can be split back unambiguously. List indexes are
 * written in brackets, 0-based.
 */
export type JsonPathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/** Formats path segments as a JSON path; the empty path (the document itself) is `''`. */
export function formatJsonPath(segments: readonly JsonPathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
