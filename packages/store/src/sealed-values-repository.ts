import type { Kysely } from 'kysely';
import type { Database } from './database.js';
import { toDefinition } from './definitions-repository.js';
import { parseJsonColumn } from './json-column.js';
import { inTransaction, type RepositoryContext } from './repository-context.js';
import type { RewrapSealedOptions, SealedValue, SealedValueCounts, SealedValueRepository } from './store.js';
import { toTarget } from './targets-repository.js';

/**
 * Every column that holds sealed values, in one place: a column added elsewhere without a line
 * here would keep its values under a master key that rotation then throws away.
 */
export class KyselySealedValueRepository implements SealedValueRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async list(): Promise<SealedValue[]> {
    const found: SealedValue[] = [];
    await walk(this.#context.db, (value) => {
      found.push(value);
      return value.sealed;
    });
    return found;
  }

  async rewrapAll(options: RewrapSealedOptions): Promise<SealedValueCounts> {
    return inTransaction(this.#context, async ({ db }) => {
      const counts: SealedValueCounts = {
        values: 0,
        definitions: 0,
        targets: 0,
        resources: 0,
        deployments: 0,
      };
      await walk(
        db,
        (value) => {
          const rewrapped = options.rewrap(value.sealed);
          if (rewrapped !== value.sealed) counts[value.kind] += 1;
          return rewrapped;
        },
        options,
      );
      return counts;
    });
  }
}

/**
 * Visits every sealed value and writes back what `visit` returns when it differs. Definitions and
 * targets also get their fingerprints recomputed when asked: the fingerprint is keyed by the master
 * key, so it must follow it.
 */
async function walk(
  db: Kysely<Database>,
  visit: (value: SealedValue) => string,
  fingerprints: Pick<RewrapSealedOptions, 'definitionFingerprint' | 'targetFingerprint'> = {},
): Promise<void> {
  const values = await db
    .selectFrom('value_changes')
    .select(['scope_app', 'scope_env', 'version', 'key', 'value'])
    .where('secret', '=', 1)
    .where('value', 'is not', null)
    .orderBy('scope_app')
    .orderBy('scope_env')
    .orderBy('version')
    .orderBy('key')
    .execute();
  for (const row of values) {
    const where = `value "${row.key}" of ${row.scope_env === '' ? `app ${row.scope_app}` : `${row.scope_app}/${row.scope_env}`} version ${row.version}`;
    const sealed = row.value ?? '';
    const next = visit({ kind: 'values', where, sealed });
    if (next === sealed) continue;
    await db
      .updateTable('value_changes')
      .set({ value: next })
      .where('scope_app', '=', row.scope_app)
      .where('scope_env', '=', row.scope_env)
      .where('version', '=', row.version)
      .where('key', '=', row.key)
      .execute();
  }

  const definitions = await db
    .selectFrom('resource_definitions')
    .selectAll()
    .orderBy('name')
    .orderBy('version')
    .execute();
  for (const row of definitions) {
    const what = `resource definition "${row.name}" version ${row.version}`;
    const secrets = parseJsonColumn(row.sealed_secrets, `sealed secrets of ${what}`) as Record<
      string,
      string
    >;
    const next = Object.fromEntries(
      Object.entries(secrets).map(([key, sealed]) => [
        key,
        visit({ kind: 'definitions', where: `secret input "${key}" of ${what}`, sealed }),
      ]),
    );
    const sealedSecrets = JSON.stringify(next);
    const fingerprint =
      fingerprints.definitionFingerprint?.(toDefinition({ ...row, sealed_secrets: sealedSecrets })) ??
      row.fingerprint;
    if (sealedSecrets === row.sealed_secrets && fingerprint === row.fingerprint) continue;
    await db
      .updateTable('resource_definitions')
      .set({ sealed_secrets: sealedSecrets, fingerprint })
      .where('name', '=', row.name)
      .where('version', '=', row.version)
      .execute();
  }

  const targets = await db.selectFrom('targets').selectAll().orderBy('name').orderBy('version').execute();
  for (const row of targets) {
    const what = `target "${row.name}" version ${row.version}`;
    const secrets = parseJsonColumn(row.sealed_secrets, `sealed secrets of ${what}`) as Record<
      string,
      string
    >;
    const next = Object.fromEntries(
      Object.entries(secrets).map(([path, sealed]) => [
        path,
        visit({ kind: 'targets', where: `secret "${path}" of ${what}`, sealed }),
      ]),
    );
    const sealedSecrets = JSON.stringify(next);
    const fingerprint =
      fingerprints.targetFingerprint?.(toTarget({ ...row, sealed_secrets: sealedSecrets })) ??
      row.fingerprint;
    if (sealedSecrets === row.sealed_secrets && fingerprint === row.fingerprint) continue;
    await db
      .updateTable('targets')
      .set({ sealed_secrets: sealedSecrets, fingerprint })
      .where('name', '=', row.name)
      .where('version', '=', row.version)
      .execute();
  }

  const resources = await db
    .selectFrom('active_resources')
    .select(['app', 'env', 'uid', 'sealed_secrets'])
    .where('sealed_secrets', 'is not', null)
    .orderBy('app')
    .orderBy('env')
    .orderBy('uid')
    .execute();
  for (const row of resources) {
    const sealed = row.sealed_secrets ?? '';
    const next = visit({
      kind: 'resources',
      where: `secret outputs of resource ${row.uid} in ${row.app}/${row.env}`,
      sealed,
    });
    if (next === sealed) continue;
    await db
      .updateTable('active_resources')
      .set({ sealed_secrets: next })
      .where('app', '=', row.app)
      .where('env', '=', row.env)
      .where('uid', '=', row.uid)
      .execute();
  }

  const deployments = await db
    .selectFrom('deployments')
    .select(['app', 'env', 'number', 'sealed_runtime_spec'])
    .where('sealed_runtime_spec', 'is not', null)
    .orderBy('app')
    .orderBy('env')
    .orderBy('number')
    .execute();
  for (const row of deployments) {
    const sealed = row.sealed_runtime_spec ?? '';
    const next = visit({
      kind: 'deployments',
      where: `runtime spec of deployment ${row.app}/${row.env}#${row.number}`,
      sealed,
    });
    if (next === sealed) continue;
    await db
      .updateTable('deployments')
      .set({ sealed_runtime_spec: next })
      .where('app', '=', row.app)
      .where('env', '=', row.env)
      .where('number', '=', row.number)
      .execute();
  }
}
