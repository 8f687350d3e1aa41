import { PavedError } from '@paved/core';
import type { ListOptions, Page } from './store.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 500;

/** The page size asked for, capped at MAX_PAGE_SIZE. */
export function pageSize(options: ListOptions | undefined): number {
  const limit = options?.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new PavedError(
      'INVALID_INPUT',
      `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}, not ${limit}`,
    );
  }
  return Math.min(limit, MAX_PAGE_SIZE);
}

/**
 * Cursors are the sort key of the last item of a page, as base64url JSON. They are opaque to
 * clients; keyset pagination (rather than offsets) keeps pages stable while rows are added.
 */
export function encodeCursor(key: (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** Decodes a cursor whose key has the given element types, or throws INVALID_INPUT. */
export function decodeCursor<const T extends readonly ('string' | 'number')[]>(
  cursor: string,
  types: T,
): { [I in keyof T]: T[I] extends 'number' ? number : string } {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (
    !Array.isArray(key) ||
    key.length !== types.length ||
    !key.every((part, index) => typeof part === types[index])
  ) {
    throw new PavedError(
      'INVALID_INPUT',
      `invalid cursor "${cursor}": pass the "next" value of the previous page`,
    );
  }
  return key as { [I in keyof T]: T[I] extends 'number' ? number : string };
}

/**
 * Builds a page from rows fetched with `limit + 1`: the extra row only tells that there is more.
 */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
  key: (row: R) => (string | number)[],
): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(map),
    next: rows.length > limit && last !== undefined ? encodeCursor(key(last)) : null,
  };
}
