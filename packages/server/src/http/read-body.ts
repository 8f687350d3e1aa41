import { PavedError } from '@paved/core';

/** Requests larger than this are refused with 413 before they are parsed. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * JSON nested deeper than this is refused with 400 before it is parsed: no request of the API
 * needs more than a dozen levels, and code that walks a body (validation, hashing) must not be
 * made to recurse without end.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Reads and parses a JSON request body, refusing more than `limit` bytes — by the declared
 * Content-Length when there is one, and while reading when there is not (chunked uploads).
 * An empty body is `undefined`.
 *
 * @throws PavedError PAYLOAD_TOO_LARGE or INVALID_INPUT (not JSON).
 */
export async function readJsonBody(request: Request, limit: number): Promise<unknown> {
  const contentType = request.headers.get('content-type');
  // text/plain is what fetch() sends for a string body when the caller names no type; accepting it
  // costs nothing (tokens are never sent by browsers on their own, so there is no CSRF to guard).
  if (
    contentType !== null &&
    !/^(application\/([a-z0-9.+-]+\+)?json|text\/plain)\s*(;|$)/i.test(contentType)
  ) {
    throw PavedError.invalid(
      `the request body must be JSON, not ${contentType}; send Content-Type: application/json`,
      [{ path: '', message: `unsupported Content-Type ${contentType}` }],
    );
  }
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const text = await readText(request, limit);
  if (text.trim() === '') return undefined;
  const tooDeep = depthExceededAt(text, MAX_JSON_DEPTH);
  if (tooDeep !== undefined) {
    throw PavedError.invalid(
      `the request body is nested deeper than ${MAX_JSON_DEPTH} levels (at character ${tooDeep}); send a flatter document`,
      [{ path: '', message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    // The parser's own message quotes the input, which may hold a secret: report where only.
    const position = cause instanceof SyntaxError ? /position (\d+)/.exec(cause.message)?.[1] : undefined;
    const where = position === undefined ? '' : ` (at character ${position})`;
    throw PavedError.invalid(`the request body is not valid JSON${where}; send a JSON document`, [
      { path: '', message: `not valid JSON${where}` },
    ]);
  }
}

/** Where the nesting of arrays and objects first exceeds `max`, outside strings; or undefined. */
export function depthExceededAt(text: string, max: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c)
        index += 1; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x7b || char === 0x5b) {
      depth += 1;
      if (depth > max) return index;
    } else if (char === 0x7d || char === 0x5d) {
      depth -= 1;
    }
  }
  return undefined;
}

async function readText(request: Request, limit: number): Promise<string> {
  if (request.body === null) return '';
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(limit: number): PavedError {
  return new PavedError(
    'PAYLOAD_TOO_LARGE',
    `the request body is larger than ${limit} bytes, the most this server accepts; send less per request`,
    { details: { limitBytes: limit } },
  );
}
