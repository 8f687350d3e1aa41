import { createHash } from 'node:crypto';
import { stableStringify } from '@paved/core';
import type { AuditEntry } from './store.js';

/** The `prevHash` of the first entry: 64 zeros. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/**
 * The canonical JSON of an entry: every field but `prevHash` and `hash`, keys sorted at every
 * level, absent fields left out. The same entry always gives the same text, whichever engine
 * stored it.
 */
export function canonicalAuditJson(entry: Omit<AuditEntry, 'prevHash' | 'hash'>): string {
  const fields: Omit<AuditEntry, 'prevHash' | 'hash'> = {
    seq: entry.seq,
    at: entry.at,
    actorId: entry.actorId,
    actorName: entry.actorName,
    actorKind: entry.actorKind,
    tokenId: entry.tokenId,
    action: entry.action,
    permission: entry.permission,
    object: entry.object,
    app: entry.app,
    env: entry.env,
    outcome: entry.outcome,
    status: entry.status,
    remoteAddress: entry.remoteAddress,
    payloadSha256: entry.payloadSha256,
    requestId: entry.requestId,
    details: entry.details,
  };
  return stableStringify(fields);
}

/**
 * An entry's hash: SHA-256 (hex) of the previous entry's hash followed by the entry's canonical
 * JSON. Changing any field of any entry changes its hash and so breaks the link to the next one.
 *
 * @example
 * auditEntryHash(AUDIT_GENESIS_HASH, { seq: 1, at: '2026-01-01T00:00:00.000Z', actorKind: 'system', action: 'start', object: 'server', outcome: 'succeeded' });
 */
export function auditEntryHash(prevHash: string, entry: Omit<AuditEntry, 'prevHash' | 'hash'>): string {
  return createHash('sha256')
    .update(prevHash, 'utf8')
    .update(canonicalAuditJson(entry), 'utf8')
    .digest('hex');
}
