/** What stands in for a secret value in text Paved shows. */
export const REDACTED = '***';

/**
 * Replaces every occurrence of the given secret values in `text`. Drivers that relay text from
 * outside (a script's stderr, an HTTP error body) pass it through here first, so a secret the
 * other side echoes back never reaches events, logs or errors. Values shorter than 4 characters
 * are left alone: they would shred ordinary text and protect nothing.
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  const values = [...new Set(secrets)].filter((value) => value.length >= 4);
  // Longest first, so a secret containing another is replaced whole.
  values.sort((a, b) => b.length - a.length);
  let result = text;
  for (const value of values) result = result.split(value).join(REDACTED);
  return result;
}
