import type { AuditEntry, AuditEntryInput, AuditOutcome, Store } from '@paved/store';
import type { Logger } from 'pino';

export type { AuditEntry, AuditEntryInput, AuditOutcome };

/**
 * The audit log as the server writes it: every state-changing API request (allowed or refused),
 * every refusal, and whatever else changes infrastructure (the deployment engine's steps) goes
 * through `record`. Entries are appended to the store's hash chain; they are never changed or
 * removed.
 */
export class AuditLog {
  readonly #store: Store;
  readonly #logger: Logger;

  constructor(store: Store, logger: Logger) {
    this.#store = store;
    this.#logger = logger;
  }

  /**
   * Appends one entry and returns it. For steps outside an HTTP request, give the actor of the
   * deployment (`actorKind: 'user'` and its name) or `actorKind: 'system'`.
   *
   * @throws when the store cannot append; the caller decides whether that stops its work.
   * @example
   * await audit.record({
   *   actorKind: 'user', actorName: deployment.actor, action: 'deployment.provision',
   *   object: `shop/dev/postgres.orders`, app: 'shop', env: 'dev', outcome: 'succeeded',
   *   details: { deployment: 7, driver: 'postgres' },
   * });
   */
  async record(entry: AuditEntryInput): Promise<AuditEntry> {
    return this.#store.audit.append(entry);
  }

  /**
   * Like `record`, but a failure to append is logged (with the entry, which never holds secrets)
   * instead of thrown: for the request pipeline, whose change is already committed when it writes
   * the entry.
   */
  async recordOrLog(entry: AuditEntryInput): Promise<AuditEntry | undefined> {
    try {
      return await this.record(entry);
    } catch (error) {
      this.#logger.error({ err: error, audit: entry }, 'could not append to the audit log');
      return undefined;
    }
  }
}
