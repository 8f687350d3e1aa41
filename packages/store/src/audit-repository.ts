import { PavedError } from '@paved/core';
import type { Selectable } from 'kysely';
import { AUDIT_GENESIS_HASH, auditEntryHash } from './audit-chain.js';
import type { AuditLogTable } from './database.js';
import { decodeCursor, pageSize, toPage } from './pagination.js';
import { normaliseTimestamp, timestamp, type RepositoryContext } from './repository-context.js';
import { retryOnRace } from './retry-on-race.js';
import type {
  AuditActorKind,
  AuditEntry,
  AuditEntryInput,
  AuditFilter,
  AuditOutcome,
  AuditRepository,
  AuditVerification,
  ListOptions,
  Page,
} from './store.js';

/** Entries read per query while verifying. */
const VERIFY_BATCH = 1000;

export class KyselyAuditRepository implements AuditRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async append(input: AuditEntryInput): Promise<AuditEntry> {
    const at =
      input.at === undefined ? timestamp(this.#context.clock.now()) : normaliseTimestamp(input.at, 'at');
    // Only JSON survives the round trip through the column, so only JSON is hashed.
    const details =
      input.details === undefined
        ? undefined
        : (JSON.parse(JSON.stringify(input.details)) as Record<string, unknown>);
    return retryOnRace(this.#context, async (context) => {
      // The head row is read first (SQLite: the transaction reads before it writes, so a writer
      // that got in between fails it with SQLITE_BUSY and it is retried) and locked on PostgreSQL,
      // so appends take turns: no two entries can claim the same place in the chain.
      const head = await context.db
        .selectFrom('audit_head')
        .select(['seq', 'hash'])
        .where('id', '=', 1)
        .$if(context.dialect === 'postgres', (query) => query.forUpdate())
        .executeTakeFirst();
      if (head === undefined) {
        throw new PavedError(
          'INTERNAL',
          'the audit log has no head row; the database was not migrated by Paved or the row was deleted by hand',
        );
      }
      const fields: Omit<AuditEntry, 'prevHash' | 'hash'> = {
        ...withoutUndefined(input),
        ...(details === undefined ? {} : { details }),
        seq: head.seq + 1,
        at,
      };
      const entry: AuditEntry = { ...fields, prevHash: head.hash, hash: auditEntryHash(head.hash, fields) };
      await context.db.insertInto('audit_log').values(toRow(entry)).execute();
      await context.db
        .updateTable('audit_head')
        .set({ seq: entry.seq, hash: entry.hash })
        .where('id', '=', 1)
        .execute();
      return entry;
    });
  }

  async list(
    filter: AuditFilter = {},
    options?: ListOptions & { order?: 'asc' | 'desc' },
  ): Promise<Page<AuditEntry>> {
    const limit = pageSize(options);
    const descending = options?.order !== 'asc';
    const after = options?.after === undefined ? undefined : decodeCursor(options.after, ['number'])[0];
    const since = filter.since === undefined ? undefined : normaliseTimestamp(filter.since, 'since');
    const until = filter.until === undefined ? undefined : normaliseTimestamp(filter.until, 'until');
    const rows = await this.#context.db
      .selectFrom('audit_log')
      .selectAll()
      .$if(after !== undefined, (query) => query.where('seq', descending ? '<' : '>', after ?? 0))
      .$if(since !== undefined, (query) => query.where('at', '>=', since ?? ''))
      .$if(until !== undefined, (query) => query.where('at', '<', until ?? ''))
      .$if(filter.actor !== undefined, (query) => query.where('actor_name', '=', filter.actor ?? ''))
      .$if(filter.app !== undefined, (query) => query.where('app', '=', filter.app ?? ''))
      .$if(filter.action !== undefined, (query) => query.where('action', '=', filter.action ?? ''))
      .$if(filter.outcome !== undefined, (query) => query.where('outcome', '=', filter.outcome ?? ''))
      .orderBy('seq', descending ? 'desc' : 'asc')
      .limit(limit + 1)
      .execute();
    return toPage(rows, limit, toEntry, (row) => [row.seq]);
  }

  async verify(): Promise<AuditVerification> {
    const head = await this.#context.db
      .selectFrom('audit_head')
      .select(['seq', 'hash'])
      .where('id', '=', 1)
      .executeTakeFirst();
    const headState = head ?? { seq: 0, hash: AUDIT_GENESIS_HASH };
    const broken = (seq: number, reason: string, entries: number): AuditVerification => ({
      ok: false,
      entries,
      head: headState,
      broken: { seq, reason },
    });
    if (head === undefined) return broken(0, 'the head row of the audit log is missing', 0);

    let expectedSeq = 1;
    let previousHash = AUDIT_GENESIS_HASH;
    let checked = 0;
    for (;;) {
      const rows = await this.#context.db
        .selectFrom('audit_log')
        .selectAll()
        .where('seq', '>=', expectedSeq)
        .orderBy('seq')
        .limit(VERIFY_BATCH)
        .execute();
      for (const row of rows) {
        const entry = toEntry(row);
        if (entry.seq !== expectedSeq) {
          return broken(
            expectedSeq,
            `entry ${expectedSeq} is missing (the next entry is ${entry.seq}): entries were deleted`,
            checked,
          );
        }
        if (entry.prevHash !== previousHash) {
          return broken(
            entry.seq,
            `entry ${entry.seq} does not link to entry ${entry.seq - 1}: its previous hash is ${entry.prevHash}, but entry ${entry.seq - 1} hashes to ${previousHash}`,
            checked,
          );
        }
        const recomputed = auditEntryHash(entry.prevHash, entry);
        if (recomputed !== entry.hash) {
          return broken(
            entry.seq,
            `entry ${entry.seq} was changed after it was written: its content hashes to ${recomputed}, not to its recorded hash ${entry.hash}`,
            checked,
          );
        }
        checked += 1;
        previousHash = entry.hash;
        expectedSeq += 1;
      }
      if (rows.length < VERIFY_BATCH) break;
    }
    if (head.seq !== expectedSeq - 1) {
      return head.seq > expectedSeq - 1
        ? broken(
            expectedSeq,
            `the log ends at entry ${expectedSeq - 1} but its head says ${head.seq} entries were written: entries ${expectedSeq} to ${head.seq} were deleted`,
            checked,
          )
        : broken(
            head.seq + 1,
            `entries after ${head.seq} were added without moving the head: they were not appended by Paved`,
            checked,
          );
    }
    if (head.hash !== previousHash) {
      return broken(
        head.seq,
        `the head records hash ${head.hash} for entry ${head.seq}, but the chain ends with ${previousHash}`,
        checked,
      );
    }
    return { ok: true, entries: checked, head: headState };
  }
}

function withoutUndefined(input: AuditEntryInput): Omit<AuditEntryInput, 'at' | 'details'> {
  const { at: _at, details: _details, ...rest } = input;
  return Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)) as Omit<
    AuditEntryInput,
    'at' | 'details'
  >;
}

function toRow(entry: AuditEntry): Selectable<AuditLogTable> {
  return {
    seq: entry.seq,
    at: entry.at,
    actor_id: entry.actorId ?? null,
    actor_name: entry.actorName ?? null,
    actor_kind: entry.actorKind,
    token_id: entry.tokenId ?? null,
    action: entry.action,
    permission: entry.permission ?? null,
    object: entry.object,
    app: entry.app ?? null,
    env: entry.env ?? null,
    outcome: entry.outcome,
    status: entry.status ?? null,
    remote_address: entry.remoteAddress ?? null,
    payload_sha256: entry.payloadSha256 ?? null,
    request_id: entry.requestId ?? null,
    details: entry.details === undefined ? null : JSON.stringify(entry.details),
    prev_hash: entry.prevHash,
    hash: entry.hash,
  };
}

function toEntry(row: Selectable<AuditLogTable>): AuditEntry {
  const optionalFields: Partial<AuditEntry> = {
    actorId: row.actor_id ?? undefined,
    actorName: row.actor_name ?? undefined,
    tokenId: row.token_id ?? undefined,
    permission: row.permission ?? undefined,
    app: row.app ?? undefined,
    env: row.env ?? undefined,
    status: row.status ?? undefined,
    remoteAddress: row.remote_address ?? undefined,
    payloadSha256: row.payload_sha256 ?? undefined,
    requestId: row.request_id ?? undefined,
    details: row.details === null ? undefined : parseDetails(row.details),
  };
  return {
    seq: Number(row.seq),
    at: row.at,
    actorKind: row.actor_kind as AuditActorKind,
    action: row.action,
    object: row.object,
    outcome: row.outcome as AuditOutcome,
    ...Object.fromEntries(Object.entries(optionalFields).filter(([, value]) => value !== undefined)),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function parseDetails(text: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : { value: parsed };
  } catch {
    // Someone edited the column by hand; verify reports the entry, the list still shows it.
    return { unparsable: text };
  }
}
