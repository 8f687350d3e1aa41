import { createHash } from 'node:crypto';
import { stableStringify } from '@paved/core';

/** Member names whose values are secrets, whatever route the body is for. */
const SECRET_MEMBER = /password|secret|token|credential|private[-_]?key|api[-_]?key|kubeconfig/i;
/** What a secret value is replaced with before hashing. */
export const REDACTED = '(secret)';

/**
 * The body with every secret value replaced by `(secret)`: members whose name says they hold a
 * secret (`password`, `secrets`, `token`, …; booleans such as `"secret": true` are kept), and the
 * `value` of an object marked `"secret": true` (a secret configuration value). The audit log
 * hashes this form, so that the hash of a short secret cannot be guessed back from the log.
 */
export function redactSecrets(value: unknown): unknown {
  // Recursion is safe: request bodies are refused beyond MAX_JSON_DEPTH before they get here.
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  const markedSecret = object.secret === true;
  const redacted: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(object)) {
    if (SECRET_MEMBER.test(key) && typeof member !== 'boolean' && member !== null && member !== undefined) {
      redacted[key] = REDACTED;
    } else if (markedSecret && key === 'value') {
      redacted[key] = REDACTED;
    } else {
      redacted[key] = redactSecrets(member);
    }
  }
  return redacted;
}

/**
 * SHA-256 (hex) of a JSON body as the audit log records it: of its canonical JSON (keys sorted,
 * no white space) with secret values replaced. Anyone holding the body can compute it again.
 *
 * @example
 * jsonPayloadDigest({ name: 'alice', password: 'hunter2hunter2' }) === jsonPayloadDigest({ password: 'other', name: 'alice' });
 */
export function jsonPayloadDigest(body: unknown): string {
  return createHash('sha256')
    .update(stableStringify(redactSecrets(body)), 'utf8')
    .digest('hex');
}
