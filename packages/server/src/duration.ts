import { PavedError } from '@paved/core';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** The duration syntax of the API and CLI: a positive whole number and one unit, e.g. `72h`. */
export const DURATION_PATTERN = /^([1-9][0-9]{0,8})([smhd])$/;

/** Seconds in `text` (`<n>s|m|h|d`), or undefined when it is not a duration. */
export function parseDurationSeconds(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (match === null) return undefined;
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}

/** Like `parseDurationSeconds`, but an INVALID_INPUT error naming `path` when `text` is no duration. */
export function requireDurationSeconds(text: string, path: string): number {
  const seconds = parseDurationSeconds(text);
  if (seconds === undefined) {
    const message = `"${text}" is not a duration: use a positive whole number and one of s, m, h, d, e.g. 72h`;
    throw PavedError.invalid(`${path}: ${message}`, [{ path, message }]);
  }
  return seconds;
}

/**
 * Formats seconds in the largest of s, m, h that divides them. Days are not used, so the seeded
 * preview TTL reads `72h` as the contracts write it.
 */
export function formatDuration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
