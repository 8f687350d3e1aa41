/**
 * What tokens and sessions share: both are credentials looked up on every request, marked as used
 * (to the minute, by the caller) and revoked by setting `revoked_at` once.
 */
import { timestamp, type RepositoryContext } from './repository-context.js';

type CredentialTable = 'tokens' | 'sessions';

/** Records when the credential was last used. */
export async function touchCredential(
  context: RepositoryContext,
  table: CredentialTable,
  id: string,
  at: Date,
): Promise<void> {
  await context.db
    .updateTable(table)
    .set({ last_used_at: timestamp(at) })
    .where('id', '=', id)
    .execute();
}

/**
 * Revokes the credential, keeping the first revocation time when revoked twice.
 * @returns whether the credential exists.
 */
export async function revokeCredential(
  context: RepositoryContext,
  table: CredentialTable,
  id: string,
  at: Date,
): Promise<boolean> {
  const result = await context.db
    .updateTable(table)
    .set({ revoked_at: timestamp(at) })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (result.numUpdatedRows > 0n) return true;
  const existing = await context.db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst();
  return existing !== undefined;
}
