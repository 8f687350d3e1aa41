import { PavedError } from '@paved/core';

/** A value as the text of a JSON column; `undefined` is SQL NULL, so `null` stays a value. */
export function jsonColumn(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** The value of a JSON column; `what` names the column in the error about corrupt text. */
export function parseJsonColumn(text: string | null, what: string): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new PavedError(
      'INTERNAL',
      `the stored ${what} is not valid JSON: the database was changed outside Paved; restore it from a backup`,
      { cause: error },
    );
  }
}
