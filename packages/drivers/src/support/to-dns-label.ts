import { createHash } from 'node:crypto';

const MAX_LABEL = 63;

/**
 * Turns any text into a valid DNS label: lower case, letters, digits and single hyphens, no
 * hyphen at either end, at most 63 characters. Long labels keep a hash of the whole text, so two
 * names that share a long prefix stay distinct.
 */
export function toDnsLabel(text: string, maxLength = MAX_LABEL): string {
  const cleaned =
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'x';
  if (cleaned.length <= maxLength) return cleaned;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 8);
  return `${cleaned.slice(0, maxLength - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}
